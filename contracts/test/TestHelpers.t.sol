// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {TestSwapPool} from "../src/testing/TestSwapPool.sol";
import {TestToken} from "../src/testing/TestToken.sol";
import {TestBase} from "./utils/TestBase.sol";

contract TestHelpersTest is TestBase {
    TestToken internal t0;
    TestToken internal t1;
    TestSwapPool internal pool;
    address internal trader = address(0x7EADE2);

    function setUp() public {
        t0 = new TestToken("Zero", "T0", 18);
        t1 = new TestToken("One", "T1", 6);
        pool = new TestSwapPool(IERC20(address(t0)), IERC20(address(t1)));
        t0.mint(address(this), 1_000_000e18);
        t1.mint(address(this), 1_000_000e6);
        t0.approve(address(pool), type(uint256).max);
        t1.approve(address(pool), type(uint256).max);
        t0.mint(trader, 1_000e18);
        t1.mint(trader, 1_000e6);
        vm.startPrank(trader);
        t0.approve(address(pool), type(uint256).max);
        t1.approve(address(pool), type(uint256).max);
        vm.stopPrank();
    }

    function test_testToken_anyoneMintsAndDecimalsAreSet() public {
        vm.prank(address(0xABCD));
        t0.mint(address(0x1234), 5);
        vm.assertEq(t0.balanceOf(address(0x1234)), 5, "minted");
        vm.assertEq(t0.decimals(), 18, "18");
        vm.assertEq(t1.decimals(), 6, "6");
        vm.assertEq(t1.symbol(), "T1", "symbol");
    }

    function test_pool_rejectsIdenticalTokensAndEmptyLiquidity() public {
        vm.expectRevert(TestSwapPool.IdenticalTokens.selector);
        new TestSwapPool(IERC20(address(t0)), IERC20(address(t0)));
        vm.expectRevert(TestSwapPool.ZeroAmount.selector);
        pool.addLiquidity(0, 1);
        vm.expectRevert(TestSwapPool.ZeroAmount.selector);
        pool.addLiquidity(1, 0);
    }

    function test_pool_swapRevertPaths() public {
        vm.startPrank(trader);
        vm.expectRevert(TestSwapPool.NoLiquidity.selector);
        pool.swap(address(t0), 1e18, address(t1), 0, trader);
        vm.stopPrank();
        pool.addLiquidity(1_000e18, 1_000e6);
        vm.startPrank(trader);
        vm.expectRevert(abi.encodeWithSelector(TestSwapPool.UnknownPair.selector, address(t0), address(0xBEEF)));
        pool.swap(address(t0), 1e18, address(0xBEEF), 0, trader);
        vm.expectRevert(abi.encodeWithSelector(TestSwapPool.UnknownPair.selector, address(t0), address(t0)));
        pool.swap(address(t0), 1e18, address(t0), 0, trader);
        vm.expectRevert(TestSwapPool.ZeroAmount.selector);
        pool.swap(address(t0), 0, address(t1), 0, trader);
        vm.expectRevert(TestSwapPool.ZeroRecipient.selector);
        pool.swap(address(t0), 1e18, address(t1), 0, address(0));
        uint256 q = pool.quote(address(t0), 1e18, address(t1));
        vm.expectRevert(abi.encodeWithSelector(TestSwapPool.InsufficientOutput.selector, q, q + 1));
        pool.swap(address(t0), 1e18, address(t1), q + 1, trader);
        // Too small to buy a single unit.
        vm.expectRevert(abi.encodeWithSelector(TestSwapPool.InsufficientOutput.selector, 0, 0));
        pool.swap(address(t0), 1, address(t1), 0, trader);
        vm.stopPrank();
    }

    function test_pool_swapPaysTheQuoteBothWays() public {
        pool.addLiquidity(1_000e18, 2_000e6);
        uint256 q = pool.quote(address(t0), 10e18, address(t1));
        // 10 in of 1000 at 0.3% fee: 2000 * 9.97 / 1009.97
        vm.assertEq(q, (uint256(10e18) * 9970 * 2_000e6) / (1_000e18 * 10_000 + uint256(10e18) * 9970), "formula");
        vm.prank(trader);
        vm.expectEmit(true, true, false, true, address(pool));
        emit TestSwapPool.Swapped(trader, address(0x5EC), address(t0), 10e18, address(t1), q);
        uint256 out = pool.swap(address(t0), 10e18, address(t1), q, address(0x5EC));
        vm.assertEq(out, q, "paid the quote");
        vm.assertEq(t1.balanceOf(address(0x5EC)), q, "to the recipient");
        vm.assertEq(pool.reserve0(), 1_010e18, "reserve0");
        vm.assertEq(pool.reserve1(), 2_000e6 - q, "reserve1");
        uint256 back = pool.quote(address(t1), 5e6, address(t0));
        vm.prank(trader);
        vm.assertEq(pool.swap(address(t1), 5e6, address(t0), back, trader), back, "reverse direction");
    }

    /// The pool never loses value: k = r0 * r1 never decreases, and its balances back its reserves.
    function testFuzz_pool_constantProductNeverDecreases(uint256 a0, uint256 a1, uint256 amountIn, bool zeroForOne)
        public
    {
        a0 = bound(a0, 1e6, 1e30);
        a1 = bound(a1, 1e6, 1e30);
        t0.mint(address(this), a0);
        t1.mint(address(this), a1);
        pool.addLiquidity(a0, a1);
        address tin = zeroForOne ? address(t0) : address(t1);
        address tout = zeroForOne ? address(t1) : address(t0);
        amountIn = bound(amountIn, 1, zeroForOne ? 1_000e18 : 1_000e6);
        uint256 kBefore = pool.reserve0() * pool.reserve1();
        uint256 q = pool.quote(tin, amountIn, tout);
        vm.assume(q > 0);
        vm.prank(trader);
        pool.swap(tin, amountIn, tout, 0, trader);
        vm.assertGe(pool.reserve0() * pool.reserve1(), kBefore, "k does not decrease");
        vm.assertEq(t0.balanceOf(address(pool)), pool.reserve0(), "balance0 backs reserve0");
        vm.assertEq(t1.balanceOf(address(pool)), pool.reserve1(), "balance1 backs reserve1");
    }

    function test_pool_quoteWithoutLiquidityIsZero() public view {
        vm.assertEq(pool.quote(address(t0), 1e18, address(t1)), 0, "no liquidity");
    }
}
