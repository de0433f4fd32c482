// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A packet between two Gateways. Addresses are bytes32 so that non-EVM chains fit later; an EVM
/// address is left-padded with zeros. packetId = keccak256(abi.encode(packet)) (docs/protocol.md).
struct Packet {
    uint64 srcChain;
    uint64 dstChain;
    uint64 sequence;
    bytes32 sender;
    bytes32 receiver;
    uint64 timeoutTimestamp;
    bytes payload;
}

/// @notice What an application needs from its chain's Gateway.
interface IGateway {
    /// @notice Commits a packet to `dstChain`; the caller becomes its sender.
    function send(uint64 dstChain, bytes32 receiver, uint64 timeoutTimestamp, bytes calldata payload)
        external
        returns (uint64 sequence);

    /// @notice True once the packet (srcChain, sequence) has been received on this chain.
    function received(uint64 srcChain, uint64 sequence) external view returns (bool);
}

/// @notice The destination side of an application: called by the Gateway in `deliver`, with a gas cap.
/// Reverting (or running out of the cap) makes the acknowledgement a failure; it never reverts the batch.
interface IPacketReceiver {
    function onPacket(Packet calldata packet) external;
}

/// @notice The source side of an application: called by the Gateway when the packet's fate is known.
/// If a callback reverts, `acknowledge`/`timeout` revert and the packet stays pending, to be retried.
interface IPacketSender {
    function onAck(Packet calldata packet, bool success, bytes calldata result) external;
    function onTimeout(Packet calldata packet) external;
}
