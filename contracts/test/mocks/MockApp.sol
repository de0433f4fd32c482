// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGateway, IPacketReceiver, IPacketSender, Packet} from "../../src/interfaces/IGateway.sol";

/// @notice A Gateway application whose behaviour on receipt is chosen by the test.
contract MockApp is IPacketReceiver, IPacketSender {
    enum Mode {
        Ok,
        Revert, // revert with Refused(sequence)
        InfiniteLoop, // run out of whatever gas it gets
        BigReturn, // succeed, returning 100 kB
        Reenter, // try to deliver the same packet again from inside onPacket
        Burn // burn `burnGas` gas, then succeed
    }

    error Refused(uint64 sequence);
    error CallbackRefused();

    IGateway public immutable gateway;
    Mode public mode;
    uint256 public burnGas;
    bool public refuseCallbacks;

    uint256 public packetsReceived;
    bytes32 public lastPayloadHash;
    uint64 public lastSrcChain;
    uint256 public acks;
    bool public lastAckSuccess;
    bytes public lastAckResult;
    uint256 public timeouts;
    uint64 public lastSettledSequence;

    constructor(IGateway gateway_) {
        gateway = gateway_;
    }

    function setMode(Mode m) external {
        mode = m;
    }

    function setBurnGas(uint256 g) external {
        burnGas = g;
    }

    function setRefuseCallbacks(bool r) external {
        refuseCallbacks = r;
    }

    function send(uint64 dstChain, bytes32 receiver, uint64 timeoutTimestamp, bytes calldata payload)
        external
        returns (uint64)
    {
        return gateway.send(dstChain, receiver, timeoutTimestamp, payload);
    }

    function onPacket(Packet calldata packet) external {
        require(msg.sender == address(gateway), "only gateway");
        Mode m = mode;
        if (m == Mode.Revert) revert Refused(packet.sequence);
        if (m == Mode.InfiniteLoop) {
            uint256 x;
            while (true) {
                ++x;
            }
        }
        if (m == Mode.Reenter) {
            Packet[] memory ps = new Packet[](1);
            ps[0] = packet;
            bytes[] memory atts = new bytes[](1);
            (bool ok, bytes memory ret) = address(gateway)
                .call(
                    abi.encodeWithSignature(
                        "deliver((uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)[],bytes[])", ps, atts
                    )
                );
            if (!ok) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        if (m == Mode.Burn) {
            uint256 stop = gasleft() - burnGas;
            while (gasleft() > stop) {}
        }
        packetsReceived += 1;
        lastPayloadHash = keccak256(packet.payload);
        lastSrcChain = packet.srcChain;
        if (m == Mode.BigReturn) {
            assembly {
                return(0, 100000)
            }
        }
    }

    function onAck(Packet calldata packet, bool success, bytes calldata result) external {
        require(msg.sender == address(gateway), "only gateway");
        if (refuseCallbacks) revert CallbackRefused();
        acks += 1;
        lastAckSuccess = success;
        lastAckResult = result;
        lastSettledSequence = packet.sequence;
    }

    function onTimeout(Packet calldata packet) external {
        require(msg.sender == address(gateway), "only gateway");
        if (refuseCallbacks) revert CallbackRefused();
        timeouts += 1;
        lastSettledSequence = packet.sequence;
    }
}
