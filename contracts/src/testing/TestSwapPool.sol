// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title TestSwapPool
/// @notice A constant-product pool (x * y = k, 0.3% fee) over one pair, for tests and the devnet: what an
/// intent's `call` step swaps through. Liquidity can be added by anyone and never removed (no LP shares).
contract TestSwapPool is ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 public constant FEE_BPS = 30;

    IERC20 public immutable token0;
    IERC20 public immutable token1;
    uint256 public reserve0;
    uint256 public reserve1;

    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1);
    event Swapped(
        address indexed sender,
        address indexed recipient,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 amountOut
    );

    error IdenticalTokens();
    error UnknownPair(address tokenIn, address tokenOut);
    error ZeroAmount();
    error ZeroRecipient();
    error NoLiquidity();
    error InsufficientOutput(uint256 amountOut, uint256 minAmountOut);

    constructor(IERC20 token0_, IERC20 token1_) {
        if (address(token0_) == address(token1_)) revert IdenticalTokens();
        token0 = token0_;
        token1 = token1_;
    }

    /// @notice Adds both tokens to the reserves (pulled from the caller).
    function addLiquidity(uint256 amount0, uint256 amount1) external nonReentrant {
        if (amount0 == 0 || amount1 == 0) revert ZeroAmount();
        token0.safeTransferFrom(msg.sender, address(this), amount0);
        token1.safeTransferFrom(msg.sender, address(this), amount1);
        reserve0 += amount0;
        reserve1 += amount1;
        emit LiquidityAdded(msg.sender, amount0, amount1);
    }

    /// @notice Swaps exactly `amountIn` of `tokenIn` (pulled from the caller) for at least `minAmountOut` of
    /// `tokenOut`, paid to `recipient`.
    function swap(address tokenIn, uint256 amountIn, address tokenOut, uint256 minAmountOut, address recipient)
        external
        nonReentrant
        returns (uint256 amountOut)
    {
        if (amountIn == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        bool zeroForOne = _direction(tokenIn, tokenOut);
        (uint256 rIn, uint256 rOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        if (rIn == 0 || rOut == 0) revert NoLiquidity();
        amountOut = _amountOut(amountIn, rIn, rOut);
        if (amountOut < minAmountOut || amountOut == 0) revert InsufficientOutput(amountOut, minAmountOut);

        if (zeroForOne) {
            reserve0 = rIn + amountIn;
            reserve1 = rOut - amountOut;
        } else {
            reserve1 = rIn + amountIn;
            reserve0 = rOut - amountOut;
        }
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        IERC20(tokenOut).safeTransfer(recipient, amountOut);
        emit Swapped(msg.sender, recipient, tokenIn, amountIn, tokenOut, amountOut);
    }

    /// @notice What `swap` would pay now for `amountIn` of `tokenIn`.
    function quote(address tokenIn, uint256 amountIn, address tokenOut) external view returns (uint256) {
        bool zeroForOne = _direction(tokenIn, tokenOut);
        (uint256 rIn, uint256 rOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        if (rIn == 0 || rOut == 0) return 0;
        return _amountOut(amountIn, rIn, rOut);
    }

    function _direction(address tokenIn, address tokenOut) private view returns (bool zeroForOne) {
        if (tokenIn == address(token0) && tokenOut == address(token1)) return true;
        if (tokenIn == address(token1) && tokenOut == address(token0)) return false;
        revert UnknownPair(tokenIn, tokenOut);
    }

    function _amountOut(uint256 amountIn, uint256 rIn, uint256 rOut) private pure returns (uint256) {
        uint256 inWithFee = amountIn * (10_000 - FEE_BPS);
        return (inWithFee * rOut) / (rIn * 10_000 + inWithFee);
    }
}
