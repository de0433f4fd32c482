// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITransferRecipient, ITransferSender} from "../../src/interfaces/ITransferHooks.sol";
import {TokenVault} from "../../src/TokenVault.sol";

/// @notice A contract that sends through transferWithMemo and records what the vault tells it.
contract HookSender is ITransferSender {
    TokenVault public immutable vault;
    uint256 public delivered;
    uint256 public refunded;
    uint64 public lastSequence;
    address public lastToken;
    uint256 public lastAmount;
    bool public refuse;

    error Refused();

    constructor(TokenVault vault_) {
        vault = vault_;
    }

    function setRefuse(bool r) external {
        refuse = r;
    }

    function send(address token, uint256 amount, uint64 dst, address to, uint64 timeoutTs, bytes calldata memo)
        external
        returns (uint64)
    {
        IERC20(token).approve(address(vault), amount);
        return vault.transferWithMemo(token, amount, dst, to, timeoutTs, memo);
    }

    function onTransferDelivered(uint64 sequence) external {
        require(msg.sender == address(vault), "only vault");
        if (refuse) revert Refused();
        delivered += 1;
        lastSequence = sequence;
    }

    function onTransferRefunded(uint64 sequence, address token, uint256 amount) external {
        require(msg.sender == address(vault), "only vault");
        if (refuse) revert Refused();
        refunded += 1;
        lastSequence = sequence;
        lastToken = token;
        lastAmount = amount;
    }
}

/// @notice A recipient of memo transfers.
contract HookRecipient is ITransferRecipient {
    address public immutable vault;
    bool public refuse;
    uint256 public calls;
    uint64 public lastSrcChain;
    bytes32 public lastSender;
    address public lastToken;
    uint256 public lastAmount;
    bytes public lastMemo;
    uint256 public balanceSeen;

    error Refused();

    constructor(address vault_) {
        vault = vault_;
    }

    function setRefuse(bool r) external {
        refuse = r;
    }

    function onTransferReceived(uint64 srcChain, bytes32 sender, address token, uint256 amount, bytes calldata memo)
        external
    {
        require(msg.sender == vault, "only vault");
        if (refuse) revert Refused();
        calls += 1;
        lastSrcChain = srcChain;
        lastSender = sender;
        lastToken = token;
        lastAmount = amount;
        lastMemo = memo;
        balanceSeen = IERC20(token).balanceOf(address(this));
    }
}
