// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Gateway} from "../../src/Gateway.sol";
import {TokenVault} from "../../src/TokenVault.sol";
import {IntentRouter} from "../../src/IntentRouter.sol";
import {Packet} from "../../src/interfaces/IGateway.sol";
import {TestBase} from "./TestBase.sol";
import {Vm} from "./Vm.sol";

/// @notice Several chains in one test EVM: each chain is a Gateway + TokenVault + IntentRouter deployed while
/// block.chainid was that chain's id, and every action on a chain first switches block.chainid to it
/// (vm.chainId). The attesters are test keys; relaying is done by the helpers below, which sign exactly what
/// an honest attester would.
abstract contract Fixture is TestBase {
    struct Chain {
        uint64 id;
        Gateway gateway;
        TokenVault vault;
        IntentRouter router;
    }

    uint64 internal constant CHAIN_A = 1001;
    uint64 internal constant CHAIN_B = 2002;
    uint64 internal constant CHAIN_C = 3003;
    uint8 internal constant THRESHOLD = 2;
    uint256 internal constant START_TIME = 1_700_000_000;

    address internal owner = address(0x0A11CE);
    /// @dev Attester keys ordered by their address, ascending (the order signatures must come in).
    uint256[] internal attesterKeys;
    address[] internal attesterAddrs;

    Chain internal A;
    Chain internal B;
    Chain internal C;

    function _setUpAttesters(uint256 n) internal {
        delete attesterKeys;
        delete attesterAddrs;
        for (uint256 i; i < n; ++i) {
            attesterKeys.push(uint256(keccak256(abi.encode("ferry attester", i))));
        }
        // Insertion sort by address: n is tiny.
        for (uint256 i = 1; i < n; ++i) {
            uint256 k = attesterKeys[i];
            uint256 j = i;
            while (j > 0 && vm.addr(attesterKeys[j - 1]) > vm.addr(k)) {
                attesterKeys[j] = attesterKeys[j - 1];
                --j;
            }
            attesterKeys[j] = k;
        }
        for (uint256 i; i < n; ++i) {
            attesterAddrs.push(vm.addr(attesterKeys[i]));
        }
    }

    function _deployChain(uint64 id) internal returns (Chain memory c) {
        vm.chainId(id);
        c.id = id;
        c.gateway = new Gateway(owner, attesterAddrs, THRESHOLD);
        c.vault = new TokenVault(c.gateway, owner);
        c.router = new IntentRouter(c.vault, owner);
    }

    function _link(Chain memory x, Chain memory y) internal {
        vm.chainId(x.id);
        vm.startPrank(owner);
        x.vault.setPeer(y.id, bytes32(uint256(uint160(address(y.vault)))));
        x.router.setPeer(y.id, address(y.router));
        vm.stopPrank();
        vm.chainId(y.id);
        vm.startPrank(owner);
        y.vault.setPeer(x.id, bytes32(uint256(uint160(address(x.vault)))));
        y.router.setPeer(x.id, address(x.router));
        vm.stopPrank();
    }

    function _setUpChains() internal {
        _setUpAttesters(3);
        vm.warp(START_TIME);
        A = _deployChain(CHAIN_A);
        B = _deployChain(CHAIN_B);
        C = _deployChain(CHAIN_C);
        _link(A, B);
        _link(A, C);
        _link(B, C);
        vm.chainId(CHAIN_A);
    }

    function _chain(uint64 id) internal view returns (Chain memory) {
        if (id == A.id) return A;
        if (id == B.id) return B;
        if (id == C.id) return C;
        revert("fixture: unknown chain");
    }

    function _chainOfGateway(address g) internal view returns (uint64) {
        if (g == address(A.gateway)) return A.id;
        if (g == address(B.gateway)) return B.id;
        if (g == address(C.gateway)) return C.id;
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------
    // Attestations
    // ---------------------------------------------------------------------------------------------------

    function _attest(bytes32 digest) internal view returns (bytes memory) {
        return _attestWith(digest, THRESHOLD);
    }

    /// @dev Signatures by the first n attesters (ascending by address), r || s || v each.
    function _attestWith(bytes32 digest, uint256 n) internal view returns (bytes memory sig) {
        for (uint256 k; k < n; ++k) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[k], digest);
            sig = bytes.concat(sig, r, s, bytes1(v));
        }
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return bytes.concat(r, s, bytes1(v));
    }

    // ---------------------------------------------------------------------------------------------------
    // Packets from logs
    // ---------------------------------------------------------------------------------------------------

    /// @dev Every PacketSent among the logs recorded since vm.recordLogs(), rebuilt as packets.
    function _sentPackets() internal returns (Packet[] memory out) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 count;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == Gateway.PacketSent.selector) ++count;
        }
        out = new Packet[](count);
        count = 0;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length == 0 || l.topics[0] != Gateway.PacketSent.selector) continue;
            Packet memory p;
            p.srcChain = _chainOfGateway(l.emitter);
            p.dstChain = uint64(uint256(l.topics[2]));
            p.sequence = uint64(uint256(l.topics[3]));
            (p.sender, p.receiver, p.timeoutTimestamp, p.payload) =
                abi.decode(l.data, (bytes32, bytes32, uint64, bytes));
            vm.assertEq(
                keccak256(abi.encode(p)), l.topics[1], "PacketSent: packetId topic is keccak256(abi.encode(packet))"
            );
            out[count++] = p;
        }
    }

    function _sentPacket() internal returns (Packet memory) {
        Packet[] memory ps = _sentPackets();
        vm.assertEq(ps.length, 1, "expected exactly one packet sent");
        return ps[0];
    }

    // ---------------------------------------------------------------------------------------------------
    // Relaying, as an honest relayer with honest attesters does it
    // ---------------------------------------------------------------------------------------------------

    /// @dev Delivers one packet on its destination; returns the acknowledgement from PacketReceived.
    function _deliver(Packet memory p) internal returns (bool success, bytes memory result) {
        Chain memory dst = _chain(p.dstChain);
        vm.chainId(dst.id);
        Packet[] memory ps = new Packet[](1);
        ps[0] = p;
        bytes[] memory atts = new bytes[](1);
        atts[0] = _attest(dst.gateway.deliveryDigest(keccak256(abi.encode(p))));
        vm.recordLogs();
        dst.gateway.deliver(ps, atts);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(dst.gateway) && logs[i].topics[0] == Gateway.PacketReceived.selector) {
                (success, result) = abi.decode(logs[i].data, (bool, bytes));
                found = true;
            }
        }
        vm.assertTrue(found, "deliver: no PacketReceived");
    }

    function _ack(Packet memory p, bool success, bytes memory result) internal {
        Chain memory src = _chain(p.srcChain);
        vm.chainId(src.id);
        bytes memory att = _attest(src.gateway.acknowledgementDigest(keccak256(abi.encode(p)), success, result));
        src.gateway.acknowledge(p, success, result, att);
    }

    /// @dev Times a packet out on its source, attesting the current time (the caller warped past the timeout
    /// and made sure the packet was not received).
    function _timeout(Packet memory p) internal {
        Chain memory dst = _chain(p.dstChain);
        vm.chainId(dst.id);
        vm.assertFalse(dst.gateway.received(p.srcChain, p.sequence), "timeout: packet was received");
        Chain memory src = _chain(p.srcChain);
        vm.chainId(src.id);
        uint64 ts = uint64(block.timestamp);
        bytes memory att = _attest(src.gateway.timeoutDigest(keccak256(abi.encode(p)), ts));
        src.gateway.timeout(p, ts, att);
    }

    /// @dev Delivers, then acknowledges on the source. Returns the acknowledgement's success flag.
    function _relay(Packet memory p) internal returns (bool success) {
        bytes memory result;
        (success, result) = _deliver(p);
        _ack(p, success, result);
    }
}
