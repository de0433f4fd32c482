// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IntentRouter} from "../../src/IntentRouter.sol";
import {Intent, IntentLib, Step} from "../../src/libraries/IntentLib.sol";
import {Packet} from "../../src/interfaces/IGateway.sol";
import {TestSwapPool} from "../../src/testing/TestSwapPool.sol";
import {TestToken} from "../../src/testing/TestToken.sol";
import {Fixture} from "./Fixture.sol";

/// @notice Three chains plus: tokenA native on A, tokenB native on B, a pool on B trading A's voucher for
/// tokenB (about 1:2), and an intent owner with a known key.
abstract contract RouterFixture is Fixture {
    uint256 internal constant OWNER_KEY = 0x0123456789abcdef;
    uint256 internal constant ALL = type(uint256).max;

    address internal user;
    address internal recipient = address(0x5EC1);
    address internal recovery = address(0x2EC0);
    address internal lp = address(0x11F);
    TestToken internal tokenA;
    TestToken internal tokenB;
    address internal vA_B; // tokenA's voucher on B
    address internal vB_C; // tokenB's voucher on C
    TestSwapPool internal pool;
    uint256 internal nextNonce = 1;

    function _setUpRouterWorld() internal {
        _setUpChains();
        user = vm.addr(OWNER_KEY);
        vm.chainId(CHAIN_A);
        tokenA = new TestToken("Token A", "TA", 18);
        tokenA.mint(user, 1_000e18);
        vm.prank(user);
        tokenA.approve(address(A.router), type(uint256).max);
        vm.chainId(CHAIN_B);
        tokenB = new TestToken("Token B", "TB", 18);
        vA_B = B.vault.voucherOf(CHAIN_A, address(tokenA));
        vm.chainId(CHAIN_C);
        vB_C = C.vault.voucherOf(CHAIN_B, address(tokenB));

        // An LP brings tokenA to B and seeds the pool.
        vm.chainId(CHAIN_A);
        tokenA.mint(lp, 10_000e18);
        vm.startPrank(lp);
        tokenA.approve(address(A.vault), type(uint256).max);
        vm.recordLogs();
        A.vault.transfer(address(tokenA), 10_000e18, CHAIN_B, lp, uint64(block.timestamp + 1 hours));
        vm.stopPrank();
        _relay(_sentPacket());
        vm.chainId(CHAIN_B);
        pool = new TestSwapPool(IERC20(vA_B), IERC20(address(tokenB)));
        tokenB.mint(lp, 20_000e18);
        vm.startPrank(lp);
        IERC20(vA_B).approve(address(pool), type(uint256).max);
        tokenB.approve(address(pool), type(uint256).max);
        pool.addLiquidity(10_000e18, 20_000e18);
        vm.stopPrank();
        vm.chainId(CHAIN_A);
    }

    // ---------------------------------------------------------------------------------------------------
    // Building intents
    // ---------------------------------------------------------------------------------------------------

    function _xfer(uint64 chain, address token, uint256 amount, uint64 toChain, address to)
        internal
        pure
        returns (Step memory s)
    {
        s.kind = IntentLib.KIND_TRANSFER;
        s.chain = chain;
        s.token = token;
        s.amount = amount;
        s.toChain = toChain;
        s.recipient = to;
    }

    function _call(uint64 chain, address tokenIn, address target, bytes memory data, address tokenOut, uint256 minOut)
        internal
        pure
        returns (Step memory s)
    {
        s.kind = IntentLib.KIND_CALL;
        s.chain = chain;
        s.token = tokenIn;
        s.amount = ALL;
        s.target = target;
        s.data = data;
        s.tokenOut = tokenOut;
        s.minAmountOut = minOut;
    }

    /// @dev pool.swap(tokenIn, <amount held>, tokenOut, minOut, executor on B).
    function _swapData(address tokenIn, address tokenOut, uint256 minOut) internal view returns (bytes memory) {
        return abi.encodeCall(
            TestSwapPool.swap,
            (tokenIn, uint256(keccak256("Ferry.AMOUNT_IN")), tokenOut, minOut, address(B.router.executor()))
        );
    }

    function _intent(Step[] memory steps) internal returns (Intent memory it) {
        it.owner = user;
        it.originChain = CHAIN_A;
        it.nonce = nextNonce++;
        it.deadline = uint64(block.timestamp + 1 days);
        it.refundPolicy = IntentLib.REFUND_ORIGIN;
        it.steps = steps;
    }

    /// @dev The demo route: `amount` of tokenA from A to B, swap to tokenB on B (>= minOut), tokenB to the
    /// recipient on C.
    function _routeIntent(uint256 amount, uint256 minOut) internal returns (Intent memory) {
        Step[] memory steps = new Step[](3);
        steps[0] = _xfer(CHAIN_A, address(tokenA), amount, CHAIN_B, address(0));
        steps[1] =
            _call(CHAIN_B, vA_B, address(pool), _swapData(vA_B, address(tokenB), minOut), address(tokenB), minOut);
        steps[2] = _xfer(CHAIN_B, address(tokenB), ALL, CHAIN_C, recipient);
        return _intent(steps);
    }

    function _signIntent(Intent memory it, uint256 key) internal returns (bytes memory) {
        vm.chainId(it.originChain);
        return _sign(key, _chain(it.originChain).router.intentId(it));
    }

    function _open(Intent memory it) internal returns (bytes32 id) {
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(it.originChain);
        id = _chain(it.originChain).router.open(it, sig);
    }

    /// @dev Runs step i on its chain; returns the packets it sent.
    function _advance(Intent memory it, uint256 i) internal returns (Packet[] memory) {
        Chain memory c = _chain(it.steps[i].chain);
        vm.chainId(c.id);
        vm.recordLogs();
        c.router.advance(it, i);
        return _sentPackets();
    }

    function _state(Chain memory c, bytes32 id) internal returns (IntentRouter.Position memory) {
        vm.chainId(c.id);
        return c.router.intentState(id);
    }

    function _assertStatus(Chain memory c, bytes32 id, IntentRouter.Status s, string memory what) internal {
        vm.assertEq(uint256(_state(c, id).status), uint256(s), what);
    }
}
