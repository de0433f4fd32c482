// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Implemented by contracts that send with `TokenVault.transferWithMemo`: the vault reports the fate
/// of every such transfer. A reverting hook reverts the acknowledgement/timeout (which can be retried).
interface ITransferSender {
    /// @notice The transfer `sequence` landed on the destination.
    function onTransferDelivered(uint64 sequence) external;

    /// @notice The transfer `sequence` failed or timed out; `amount` of `token` has just been returned.
    function onTransferRefunded(uint64 sequence, address token, uint256 amount) external;
}

/// @notice Implemented by recipients of transfers that carry a non-empty memo. Called after the tokens were
/// credited; reverting makes the delivery fail, so the sender is refunded on the source chain.
interface ITransferRecipient {
    function onTransferReceived(uint64 srcChain, bytes32 sender, address token, uint256 amount, bytes calldata memo)
        external;
}
