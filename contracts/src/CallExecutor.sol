// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {BoundedCall} from "./libraries/BoundedCall.sol";

/// @title CallExecutor
/// @notice Makes the arbitrary calls of intents' `call` steps on behalf of the IntentRouter. It holds nothing
/// between calls and has no allowances from anyone but the router, so a call chosen by one intent's owner can
/// reach only that intent's input: never the router's other balances.
contract CallExecutor {
    using SafeERC20 for IERC20;

    /// @notice Revert data of a failed target, truncated to this length.
    uint256 public constant MAX_REVERT_BYTES = 256;

    address public immutable router;

    error OnlyRouter();
    error CallReverted(bytes reason);
    /// @notice The target used all the gas it was given: the caller of `advance` may simply not have given
    /// enough, so the router reverts instead of failing the step.
    error TargetOutOfGas();
    error InputNotExactlySpent(uint256 balanceBefore, uint256 balanceAfter);

    constructor() {
        router = msg.sender;
    }

    /// @notice Pulls `amountIn` of `tokenIn` from the router, approves it to `target`, calls `target` with
    /// `data`, requires every unit of the input spent, and sends the `tokenOut` it got back to the router.
    /// @return amountOut tokenOut this call produced (the executor's own balance change).
    function execute(address target, bytes calldata data, IERC20 tokenIn, uint256 amountIn, IERC20 tokenOut)
        external
        returns (uint256 amountOut)
    {
        if (msg.sender != router) revert OnlyRouter();
        uint256 inBefore = tokenIn.balanceOf(address(this));
        uint256 outBefore = tokenOut.balanceOf(address(this));
        tokenIn.safeTransferFrom(router, address(this), amountIn);
        uint256 received = tokenIn.balanceOf(address(this)) - inBefore;

        tokenIn.forceApprove(target, received);
        _callTarget(target, data);
        uint256 inAfter = tokenIn.balanceOf(address(this));
        if (inAfter != inBefore) revert InputNotExactlySpent(inBefore, inAfter);
        if (tokenIn.allowance(address(this), target) != 0) tokenIn.forceApprove(target, 0);

        amountOut = tokenOut.balanceOf(address(this)) - outBefore;
        if (amountOut != 0) tokenOut.safeTransfer(router, amountOut);
    }

    function _callTarget(address target, bytes calldata data) private {
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory reason) = BoundedCall.call(target, gasBefore, data, MAX_REVERT_BYTES);
        if (!ok) {
            // All but the 1/64 kept back by the CALL is gone.
            if (gasleft() <= gasBefore / 63) revert TargetOutOfGas();
            revert CallReverted(reason);
        }
    }
}
