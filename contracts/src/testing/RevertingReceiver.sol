// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPacketReceiver, Packet} from "../interfaces/IGateway.sol";
import {ITransferRecipient, ITransferSender} from "../interfaces/ITransferHooks.sol";
import {TokenVault} from "../TokenVault.sol";

/// @title RevertingReceiver
/// @notice A receiver that refuses everything, for tests and the devnet only: as a packet receiver or as the
/// recipient of a memo transfer it always reverts, so every delivery to it yields a failed acknowledgement.
contract RevertingReceiver is IPacketReceiver, ITransferRecipient {
    error AlwaysReverts();

    function onPacket(Packet calldata) external pure {
        revert AlwaysReverts();
    }

    function onTransferReceived(uint64, bytes32, address, uint256, bytes calldata) external pure {
        revert AlwaysReverts();
    }
}

/// @title TestTransferSender
/// @notice Sends its own tokens with `TokenVault.transferWithMemo` and counts what the vault reports back.
/// For tests and the devnet only: anyone may make it send what it holds.
contract TestTransferSender is ITransferSender {
    TokenVault public immutable vault;
    uint256 public delivered;
    uint256 public refunded;
    uint256 public refundedAmount;

    error OnlyVault();

    constructor(TokenVault vault_) {
        vault = vault_;
    }

    function send(address token, uint256 amount, uint64 dst, address to, uint64 timeoutTs, bytes calldata memo)
        external
        returns (uint64)
    {
        IERC20(token).approve(address(vault), amount);
        return vault.transferWithMemo(token, amount, dst, to, timeoutTs, memo);
    }

    function onTransferDelivered(uint64) external {
        if (msg.sender != address(vault)) revert OnlyVault();
        delivered += 1;
    }

    function onTransferRefunded(uint64, address, uint256 amount) external {
        if (msg.sender != address(vault)) revert OnlyVault();
        refunded += 1;
        refundedAmount += amount;
    }
}
