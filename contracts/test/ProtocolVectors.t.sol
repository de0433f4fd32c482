// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Gateway} from "../src/Gateway.sol";
import {IntentRouter} from "../src/IntentRouter.sol";
import {TokenVault} from "../src/TokenVault.sol";
import {Packet} from "../src/interfaces/IGateway.sol";
import {Intent, IntentLib, Step} from "../src/libraries/IntentLib.sol";
import {TestSwapPool} from "../src/testing/TestSwapPool.sol";
import {TestBase} from "./utils/TestBase.sol";
import {console} from "./utils/console.sol";

/// @notice Exposes IntentLib (which takes calldata) to the test.
contract IntentLibHarness {
    function hashIntent(Intent calldata it) external pure returns (bytes32) {
        return IntentLib.hashIntent(it);
    }

    function id(Intent calldata it, address originRouter) external pure returns (bytes32) {
        return IntentLib.id(it, originRouter);
    }
}

/// @notice The worked examples of docs/protocol.md, byte for byte. Each value is computed twice: by the
/// contracts, and here from the written rules (abi.encode, EIP-712) with nothing shared; both must equal the
/// constant printed in the doc. If a constant changes, the doc must change with it.
contract ProtocolVectorsTest is TestBase {
    // Example parameters (docs/protocol.md, "Worked example").
    uint64 constant SRC = 1001;
    uint64 constant DST = 2002;
    address constant GATEWAY_SRC = 0x7777777777777777777777777777777777777777;
    address constant GATEWAY_DST = 0x6666666666666666666666666666666666666666;
    address constant ORIGIN_ROUTER = 0x8888888888888888888888888888888888888888;
    uint256 constant ATTESTER_KEY = 0xA77E57;
    uint256 constant OWNER_KEY = 0xA11CE;

    bytes32 constant EXPECTED_PAYLOAD_HASH = 0x0e5e90631c9450f9258511e6164e9f61df75303ebb4c38232908ba3e75144455;
    bytes32 constant EXPECTED_PACKET_ID = 0x02e5824013a6f1fb69dff0e406c99dbf6dedefdbb59f39f7f74e24b0b7ca1f49;
    bytes32 constant EXPECTED_DST_DOMAIN = 0x3ac8d8cd20fb1042cba9c3c4b74f2cdb3ca9f5c46a5e205215a157db74763847;
    bytes32 constant EXPECTED_DELIVERY_DIGEST = 0x5ae22afd99b42cadffe7fdb87ab83bd5ac106a0c8580dd533fa9de1c6e793edd;
    bytes32 constant EXPECTED_ACK_DIGEST = 0xfdb69f0d3f2103cb8fb2df9bd5ecef42609d0cbde515d7f921284ae357434b3c;
    bytes32 constant EXPECTED_TIMEOUT_DIGEST = 0xa6ca92bdf93187724f4fa2a96414ada42e2c5ee8b30112dd37e0103572b4cdc6;
    bytes32 constant EXPECTED_INTENT_ID = 0xf33bb731edaac9ab05bf62fd02ba06d92b29ce1c08a3bdeafadd4d5adc1d98ee;

    bytes32 constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function _packet() internal pure returns (Packet memory p) {
        p.srcChain = SRC;
        p.dstChain = DST;
        p.sequence = 7;
        p.sender = _b32(0x1111111111111111111111111111111111111111);
        p.receiver = _b32(0x2222222222222222222222222222222222222222);
        p.timeoutTimestamp = 1_700_003_600;
        p.payload = abi.encode(
            SRC,
            _b32(0x3333333333333333333333333333333333333333),
            uint8(18),
            uint256(1e18),
            _b32(0x4444444444444444444444444444444444444444),
            _b32(0x5555555555555555555555555555555555555555),
            false,
            bytes("")
        );
    }

    function _domain(string memory name, uint256 chainId, address verifying) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256("1"), chainId, verifying));
    }

    function _digest(bytes32 domain, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    function _log(string memory what, bytes32 v) internal view {
        console.log(string.concat("vector ", what, " = ", vm.toString(v)));
    }

    function _check(string memory what, bytes32 got, bytes32 expected) internal view {
        _log(what, got);
        vm.assertEq(got, expected, what);
    }

    function test_vectors_packetAndAttestations() public {
        Packet memory p = _packet();
        _check("payload hash", keccak256(p.payload), EXPECTED_PAYLOAD_HASH);

        // packetId: keccak256(abi.encode(packet)), the packet as ONE tuple argument (so the encoding starts
        // with the offset word 0x20), spelled out here field by field.
        bytes memory enc = bytes.concat(
            abi.encode(uint256(0x20), p.srcChain, p.dstChain, p.sequence, p.sender, p.receiver, p.timeoutTimestamp),
            abi.encode(uint256(7 * 32), p.payload.length),
            p.payload
        );
        vm.assertEq(enc, abi.encode(p), "packet encoding as documented");
        _check("packetId", keccak256(enc), EXPECTED_PACKET_ID);

        // The destination Gateway's domain and the three attestation digests.
        vm.chainId(DST);
        address[] memory att = new address[](1);
        att[0] = vm.addr(ATTESTER_KEY);
        Gateway g = new Gateway(address(this), att, 1);
        vm.etch(GATEWAY_DST, address(g).code);
        // The etched copy has no storage; its domain and digests are pure functions of code and address.
        Gateway dst = Gateway(GATEWAY_DST);
        bytes32 domain = _domain("Ferry Gateway", DST, GATEWAY_DST);
        _check("destination Gateway domain separator", dst.domainSeparator(), EXPECTED_DST_DOMAIN);
        vm.assertEq(domain, EXPECTED_DST_DOMAIN, "domain from the rules");
        vm.assertEq(dst.packetId(p), EXPECTED_PACKET_ID, "Gateway.packetId");

        bytes32 delivery =
            _digest(domain, keccak256(abi.encode(keccak256("Delivery(bytes32 packetId)"), EXPECTED_PACKET_ID)));
        _check("delivery digest", dst.deliveryDigest(EXPECTED_PACKET_ID), EXPECTED_DELIVERY_DIGEST);
        vm.assertEq(delivery, EXPECTED_DELIVERY_DIGEST, "delivery digest from the rules");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ATTESTER_KEY, delivery);
        console.log(string.concat("vector attester = ", vm.toString(vm.addr(ATTESTER_KEY))));
        console.log(string.concat("vector delivery signature = ", vm.toString(bytes.concat(r, s, bytes1(v)))));

        // Acknowledgement and timeout attestations are verified by the source Gateway, in its domain.
        vm.chainId(SRC);
        vm.etch(GATEWAY_SRC, address(g).code);
        Gateway src = Gateway(GATEWAY_SRC);
        bytes32 srcDomain = _domain("Ferry Gateway", SRC, GATEWAY_SRC);
        _log("source Gateway domain separator", srcDomain);
        vm.assertEq(src.domainSeparator(), srcDomain, "source domain");
        bytes32 ack = _digest(
            srcDomain,
            keccak256(
                abi.encode(
                    keccak256("Acknowledgement(bytes32 packetId,bool success,bytes result)"),
                    EXPECTED_PACKET_ID,
                    true,
                    keccak256("")
                )
            )
        );
        _check(
            "acknowledgement digest (success, empty result)",
            src.acknowledgementDigest(EXPECTED_PACKET_ID, true, ""),
            EXPECTED_ACK_DIGEST
        );
        vm.assertEq(ack, EXPECTED_ACK_DIGEST, "ack digest from the rules");
        bytes32 tmo = _digest(
            srcDomain,
            keccak256(
                abi.encode(
                    keccak256("Timeout(bytes32 packetId,uint64 destinationTimestamp)"),
                    EXPECTED_PACKET_ID,
                    uint64(1_700_003_600)
                )
            )
        );
        _check(
            "timeout digest (destinationTimestamp 1700003600)",
            src.timeoutDigest(EXPECTED_PACKET_ID, 1_700_003_600),
            EXPECTED_TIMEOUT_DIGEST
        );
        vm.assertEq(tmo, EXPECTED_TIMEOUT_DIGEST, "timeout digest from the rules");
    }

    function _exampleIntent() internal pure returns (Intent memory it) {
        it.owner = vm.addr(OWNER_KEY);
        it.originChain = SRC;
        it.nonce = 1;
        it.deadline = 1_700_086_400;
        it.refundPolicy = 0;
        it.recoveryAddress = address(0);
        it.steps = new Step[](3);
        it.steps[0].kind = 0;
        it.steps[0].chain = SRC;
        it.steps[0].token = 0x3333333333333333333333333333333333333333;
        it.steps[0].amount = 100e18;
        it.steps[0].toChain = DST;
        it.steps[1].kind = 1;
        it.steps[1].chain = DST;
        it.steps[1].token = 0x9999999999999999999999999999999999999999;
        it.steps[1].amount = type(uint256).max;
        it.steps[1].target = 0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa;
        it.steps[1].data = abi.encodeCall(
            TestSwapPool.swap,
            (
                0x9999999999999999999999999999999999999999,
                uint256(keccak256("Ferry.AMOUNT_IN")),
                0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB,
                150e18,
                0xDDdDddDdDdddDDddDDddDDDDdDdDDdDDdDDDDDDd
            )
        );
        it.steps[1].tokenOut = 0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB;
        it.steps[1].minAmountOut = 150e18;
        it.steps[2].kind = 0;
        it.steps[2].chain = DST;
        it.steps[2].token = 0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB;
        it.steps[2].amount = type(uint256).max;
        it.steps[2].toChain = 3003;
        it.steps[2].recipient = 0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC;
        it.steps[2].timeout = 3600;
    }

    function _hashStep(Step memory s) internal pure returns (bytes32) {
        bytes32 typehash = keccak256(
            "Step(uint8 kind,uint64 chain,address token,uint256 amount,uint64 toChain,address recipient,address target,bytes data,address tokenOut,uint256 minAmountOut,uint64 timeout)"
        );
        return keccak256(
            bytes.concat(
                abi.encode(typehash, s.kind, s.chain, s.token, s.amount, s.toChain, s.recipient),
                abi.encode(s.target, keccak256(s.data), s.tokenOut, s.minAmountOut, s.timeout)
            )
        );
    }

    function test_vectors_intent() public {
        Intent memory it = _exampleIntent();
        console.log(string.concat("vector intent owner = ", vm.toString(it.owner)));
        console.log(string.concat("vector step 1 data = ", vm.toString(it.steps[1].data)));
        bytes32[] memory sh = new bytes32[](3);
        for (uint256 i; i < 3; ++i) {
            sh[i] = _hashStep(it.steps[i]);
            _log(string.concat("hashStruct(step ", vm.toString(i), ")"), sh[i]);
        }
        bytes32 intentTypehash = keccak256(
            "Intent(address owner,uint64 originChain,uint256 nonce,uint64 deadline,uint8 refundPolicy,address recoveryAddress,Step[] steps)Step(uint8 kind,uint64 chain,address token,uint256 amount,uint64 toChain,address recipient,address target,bytes data,address tokenOut,uint256 minAmountOut,uint64 timeout)"
        );
        bytes32 structHash = keccak256(
            abi.encode(
                intentTypehash,
                it.owner,
                it.originChain,
                it.nonce,
                it.deadline,
                it.refundPolicy,
                it.recoveryAddress,
                keccak256(abi.encodePacked(sh))
            )
        );
        IntentLibHarness lib = new IntentLibHarness();
        vm.assertEq(lib.hashIntent(it), structHash, "hashStruct(intent) from the rules");
        _log("hashStruct(intent)", structHash);
        bytes32 domain = _domain("Ferry Intent", SRC, ORIGIN_ROUTER);
        _log("intent domain separator (origin 1001, router 0x8888...)", domain);
        bytes32 id = _digest(domain, structHash);
        _check("intentId", lib.id(it, ORIGIN_ROUTER), EXPECTED_INTENT_ID);
        vm.assertEq(id, EXPECTED_INTENT_ID, "intentId from the rules");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(OWNER_KEY, id);
        console.log(string.concat("vector owner signature = ", vm.toString(bytes.concat(r, s, bytes1(v)))));
    }

    function test_vectors_constantsMatchTheDoc() public pure {
        vm.assertEq(IntentLib.ALL, type(uint256).max, "ALL");
        vm.assertEq(
            keccak256("Ferry.AMOUNT_IN"),
            0x88c555abf18e4bd21aa2bd2f745d0eb6b0776963d5798557e48a6b77e6ab6833,
            "AMOUNT_IN_PLACEHOLDER"
        );
    }
}
