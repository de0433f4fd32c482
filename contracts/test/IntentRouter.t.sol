// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {CallExecutor} from "../src/CallExecutor.sol";
import {IntentRouter} from "../src/IntentRouter.sol";
import {Intent, IntentLib, Step} from "../src/libraries/IntentLib.sol";
import {Packet} from "../src/interfaces/IGateway.sol";
import {TestSwapPool} from "../src/testing/TestSwapPool.sol";
import {TestToken} from "../src/testing/TestToken.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";
import {
    ERC1271Wallet,
    FixedPriceTarget,
    LongRevertTarget,
    LoopTarget,
    ReenterTarget,
    SinkTarget
} from "./mocks/Targets.sol";

contract IntentRouterTest is RouterFixture {
    function setUp() public {
        _setUpRouterWorld();
    }

    function _packet(Packet[] memory ps) internal pure returns (Packet memory) {
        require(ps.length == 1, "expected one packet");
        return ps[0];
    }

    // ---------------------------------------------------------------------------------------------------
    // The whole route
    // ---------------------------------------------------------------------------------------------------

    function test_route_AtoB_swapOnB_toC_completes() public {
        Intent memory it = _routeIntent(100e18, 150e18);
        vm.chainId(CHAIN_A);
        bytes32 expectedId = A.router.intentId(it);
        vm.expectEmit(true, true, false, true, address(A.router));
        emit IntentRouter.IntentOpened(expectedId, user, it.nonce, address(tokenA), 100e18, it.deadline);
        bytes32 id = _open(it);
        vm.assertEq(id, expectedId, "id");
        vm.assertEq(tokenA.balanceOf(user), 900e18, "pulled from the owner");
        vm.assertEq(tokenA.balanceOf(address(A.router)), 100e18, "held by the router");
        IntentRouter.Position memory pos = _state(A, id);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.Holding), "holding on A");
        vm.assertEq(pos.step, 0, "waiting for step 0");
        vm.assertEq(pos.amount, 100e18, "amount");

        // Step 0: A -> B.
        Packet memory hop = _packet(_advance(it, 0));
        _assertStatus(A, id, IntentRouter.Status.InFlight, "in flight from A");
        vm.chainId(CHAIN_A);
        vm.assertEq(A.router.hopIntent(hop.sequence), id, "hop registered");
        vm.assertTrue(_relay(hop), "hop delivered");
        _assertStatus(A, id, IntentRouter.Status.Departed, "departed A");
        pos = _state(B, id);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.Holding), "holding on B");
        vm.assertEq(pos.step, 1, "waiting for step 1");
        vm.assertEq(pos.token, vA_B, "as A's voucher");
        vm.assertEq(pos.amount, 100e18, "all of it");

        // Step 1: swap on B.
        vm.chainId(CHAIN_B);
        uint256 quote = pool.quote(vA_B, 100e18, address(tokenB));
        vm.assertEq(_advance(it, 1).length, 0, "a call sends nothing");
        pos = _state(B, id);
        vm.assertEq(pos.step, 2, "waiting for step 2");
        vm.assertEq(pos.token, address(tokenB), "now tokenB");
        vm.assertEq(pos.amount, quote, "the swap output");
        vm.assertEq(tokenB.balanceOf(address(B.router)), quote, "held by B's router");
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router)), 0, "input spent");
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router.executor())), 0, "executor keeps nothing");
        vm.assertEq(tokenB.balanceOf(address(B.router.executor())), 0, "executor keeps nothing (out)");

        // Step 2: B -> C, to the recipient.
        hop = _packet(_advance(it, 2));
        _assertStatus(B, id, IntentRouter.Status.InFlight, "final hop in flight");
        (bool ok, bytes memory result) = _deliver(hop);
        vm.assertTrue(ok, "delivered to the recipient");
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, false, false, true, address(B.router));
        emit IntentRouter.IntentCompleted(id, address(tokenB), quote);
        _ack(hop, ok, result);
        _assertStatus(B, id, IntentRouter.Status.Completed, "completed");
        vm.chainId(CHAIN_C);
        vm.assertEq(IERC20(vB_C).balanceOf(recipient), quote, "recipient paid on C");
        _assertStatus(C, id, IntentRouter.Status.None, "the router on C never held it");
    }

    function test_intentId_isTheSameOnEveryChain() public {
        Intent memory it = _routeIntent(1e18, 1);
        vm.chainId(CHAIN_A);
        bytes32 idA = A.router.intentId(it);
        vm.chainId(CHAIN_B);
        bytes32 idB = B.router.intentId(it);
        vm.chainId(CHAIN_C);
        bytes32 idC = C.router.intentId(it);
        vm.assertEq(idA, idB, "A == B");
        vm.assertEq(idA, idC, "A == C");
        vm.chainId(CHAIN_B);
        vm.assertEq(B.router.domainSeparator(CHAIN_A), IntentLib.domainSeparator(CHAIN_A, address(A.router)), "domain");
        vm.assertEq(
            idA,
            keccak256(
                abi.encodePacked(
                    hex"1901", IntentLib.domainSeparator(CHAIN_A, address(A.router)), B.router.hashIntent(it)
                )
            ),
            "id = EIP-712 digest"
        );
        // Without a peer for the origin, a router cannot name the intent.
        vm.prank(owner);
        B.router.setPeer(CHAIN_A, address(0));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.UnknownRouter.selector, CHAIN_A));
        B.router.intentId(it);
    }

    function test_route_backThroughOrigin_reusesThePosition() public {
        // A -> B -> A -> C: the intent leaves A, comes back, and leaves again.
        Step[] memory steps = new Step[](3);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 10e18, CHAIN_B, address(0));
        steps[1] = _xfer(CHAIN_B, vA_B, ALL, CHAIN_A, address(0));
        steps[2] = _xfer(CHAIN_A, address(tokenA), ALL, CHAIN_C, recipient);
        Intent memory it = _intent(steps);
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        _relay(_packet(_advance(it, 1)));
        IntentRouter.Position memory pos = _state(A, id);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.Holding), "back on A");
        vm.assertEq(pos.step, 2, "at step 2");
        vm.assertEq(pos.token, address(tokenA), "as the native token again");
        _assertStatus(B, id, IntentRouter.Status.Departed, "left B");
        _relay(_packet(_advance(it, 2)));
        _assertStatus(A, id, IntentRouter.Status.Completed, "completed from A");
        vm.chainId(CHAIN_C);
        vm.assertEq(IERC20(C.vault.voucherOf(CHAIN_A, address(tokenA))).balanceOf(recipient), 10e18, "paid on C");
    }

    function test_route_localPayoutAsLastStep() public {
        Step[] memory steps = new Step[](2);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 10e18, CHAIN_B, address(0));
        steps[1] = _xfer(CHAIN_B, vA_B, ALL, CHAIN_B, recipient);
        Intent memory it = _intent(steps);
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, false, false, true, address(B.router));
        emit IntentRouter.IntentCompleted(id, vA_B, 10e18);
        vm.assertEq(_advance(it, 1).length, 0, "no packet");
        _assertStatus(B, id, IntentRouter.Status.Completed, "completed");
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(recipient), 10e18, "paid on B");
    }

    function test_route_singleStepTransferToRecipient() public {
        Step[] memory steps = new Step[](1);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 5e18, CHAIN_C, recipient);
        Intent memory it = _intent(steps);
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        _assertStatus(A, id, IntentRouter.Status.Completed, "completed");
        vm.chainId(CHAIN_C);
        vm.assertEq(IERC20(C.vault.voucherOf(CHAIN_A, address(tokenA))).balanceOf(recipient), 5e18, "paid");
    }

    function test_callStep_placeholderTakesTheHeldAmount() public {
        // Two calls in a row: the second swaps whatever the first produced, unknown when signing.
        Step[] memory steps = new Step[](4);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 10e18, CHAIN_B, address(0));
        steps[1] = _call(CHAIN_B, vA_B, address(pool), _swapData(vA_B, address(tokenB), 1), address(tokenB), 1);
        steps[2] = _call(CHAIN_B, address(tokenB), address(pool), _swapData(address(tokenB), vA_B, 1), vA_B, 1);
        steps[3] = _xfer(CHAIN_B, vA_B, ALL, CHAIN_B, recipient);
        Intent memory it = _intent(steps);
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        _advance(it, 1);
        uint256 mid = _state(B, id).amount;
        vm.chainId(CHAIN_B);
        uint256 expected = pool.quote(address(tokenB), mid, vA_B);
        _advance(it, 2);
        vm.assertEq(_state(B, id).amount, expected, "second swap used the first's output");
        _advance(it, 3);
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(recipient), expected, "paid");
    }

    // ---------------------------------------------------------------------------------------------------
    // open
    // ---------------------------------------------------------------------------------------------------

    function test_open_rejectsReplayBadSignatureAndLateDeadline() public {
        Intent memory it = _routeIntent(1e18, 1);
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_A);
        A.router.open(it, sig);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NonceUsed.selector, user, it.nonce));
        A.router.open(it, sig);

        Intent memory other = _routeIntent(1e18, 1);
        bytes memory wrongKey = _signIntent(other, 0xBAD);
        vm.expectRevert(IntentRouter.BadSignature.selector);
        A.router.open(other, wrongKey);
        // A signature over a different plan.
        bytes memory good = _signIntent(other, OWNER_KEY);
        other.steps[0].amount = 2e18;
        vm.expectRevert(IntentRouter.BadSignature.selector);
        A.router.open(other, good);
        vm.expectRevert(IntentRouter.BadSignature.selector);
        A.router.open(other, hex"1234");

        Intent memory late = _routeIntent(1e18, 1);
        late.deadline = uint64(block.timestamp);
        bytes memory lateSig = _signIntent(late, OWNER_KEY);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.DeadlinePassed.selector, late.deadline, block.timestamp));
        A.router.open(late, lateSig);
    }

    function test_open_onlyOnTheOriginChain() public {
        Intent memory it = _routeIntent(1e18, 1);
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_B);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.WrongOriginChain.selector, CHAIN_A));
        B.router.open(it, sig);
    }

    function test_open_invalidatedNonceCannotBeOpened() public {
        Intent memory it = _routeIntent(1e18, 1);
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_A);
        vm.expectEmit(true, false, false, true, address(A.router));
        emit IntentRouter.NonceInvalidated(user, it.nonce);
        vm.prank(user);
        A.router.invalidateNonce(it.nonce);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NonceUsed.selector, user, it.nonce));
        A.router.open(it, sig);
    }

    function test_open_needsAllowance() public {
        Intent memory it = _routeIntent(1e18, 1);
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_A);
        vm.prank(user);
        tokenA.approve(address(A.router), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(A.router), 0, 1e18)
        );
        A.router.open(it, sig);
    }

    function test_open_contractOwnerSignsWithERC1271() public {
        vm.chainId(CHAIN_A);
        ERC1271Wallet wallet = new ERC1271Wallet(user);
        tokenA.mint(address(wallet), 5e18);
        vm.prank(user);
        wallet.approve(IERC20(address(tokenA)), address(A.router), 5e18);
        Step[] memory steps = new Step[](1);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 5e18, CHAIN_B, recipient);
        Intent memory it = _intent(steps);
        it.owner = address(wallet);
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_A);
        A.router.open(it, sig);
        vm.assertEq(tokenA.balanceOf(address(A.router)), 5e18, "pulled from the wallet");
        Intent memory it2 = _intent(steps);
        it2.owner = address(wallet);
        bytes memory bad = _signIntent(it2, 0xBAD);
        vm.chainId(CHAIN_A);
        vm.expectRevert(IntentRouter.BadSignature.selector);
        A.router.open(it2, bad);
    }

    function _expectOpenRevert(Intent memory it, bytes memory err) internal {
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(CHAIN_A);
        vm.expectRevert(err);
        A.router.open(it, sig);
    }

    function test_open_validatesThePlan() public {
        Intent memory it;

        it = _routeIntent(1e18, 1);
        it.owner = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.ZeroOwner.selector));

        it = _routeIntent(1e18, 1);
        it.recoveryAddress = recovery; // policy 0 takes no recovery address
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidRefundPolicy.selector, 0, recovery));
        it.refundPolicy = 1;
        it.recoveryAddress = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidRefundPolicy.selector, 1, address(0)));
        it.refundPolicy = 2;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidRefundPolicy.selector, 2, address(0)));

        it = _intent(new Step[](0));
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.NoSteps.selector));

        Step[] memory many = new Step[](17);
        for (uint256 i; i < 17; ++i) {
            many[i] = _xfer(CHAIN_A, address(tokenA), 1, CHAIN_B, recipient);
        }
        it = _intent(many);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.TooManySteps.selector, 17, 16));

        it = _routeIntent(1e18, 1);
        it.steps[1].chain = CHAIN_C;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.StepChainMismatch.selector, 1, CHAIN_B, CHAIN_C));
        it = _routeIntent(1e18, 1);
        it.steps[0].chain = CHAIN_B;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.StepChainMismatch.selector, 0, CHAIN_A, CHAIN_B));

        it = _routeIntent(0, 1);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.FirstAmountInvalid.selector, 0));
        it = _routeIntent(ALL, 1);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.FirstAmountInvalid.selector, ALL));
        it = _routeIntent(1e18, 1);
        it.steps[2].amount = 5;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.AmountMustBeAll.selector, 2));

        it = _routeIntent(1e18, 1);
        it.steps[1].kind = 7;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.UnknownStepKind.selector, 1, 7));
    }

    function test_open_validatesTransferSteps() public {
        Intent memory it;
        // Intermediate transfer naming a recipient.
        it = _routeIntent(1e18, 1);
        it.steps[0].recipient = recipient;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        // Intermediate transfer to its own chain.
        it = _routeIntent(1e18, 1);
        it.steps[0].toChain = CHAIN_A;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        // Final transfer without recipient.
        it = _routeIntent(1e18, 1);
        it.steps[2].recipient = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 2));
        // Local payout with a hop timeout.
        it = _routeIntent(1e18, 1);
        it.steps[2].toChain = CHAIN_B;
        it.steps[2].timeout = 60;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 2));
        // Fields a transfer does not use.
        it = _routeIntent(1e18, 1);
        it.steps[0].target = address(pool);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        it = _routeIntent(1e18, 1);
        it.steps[0].data = hex"01";
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        it = _routeIntent(1e18, 1);
        it.steps[0].tokenOut = address(tokenB);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        it = _routeIntent(1e18, 1);
        it.steps[0].minAmountOut = 1;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        it = _routeIntent(1e18, 1);
        it.steps[0].token = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
        it = _routeIntent(1e18, 1);
        it.steps[0].toChain = 0;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidTransferStep.selector, 0));
    }

    function test_open_validatesCallSteps() public {
        Intent memory it;
        it = _routeIntent(1e18, 1);
        Step[] memory s2 = new Step[](2);
        s2[0] = it.steps[0];
        s2[1] = it.steps[1];
        it.steps = s2;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.LastStepMustBeTransfer.selector));

        it = _routeIntent(1e18, 1);
        it.steps[1].target = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].tokenOut = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].tokenOut = vA_B;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].toChain = CHAIN_C;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].recipient = recipient;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].timeout = 1;
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].data = new bytes(8 * 1024 + 1);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
        it = _routeIntent(1e18, 1);
        it.steps[1].token = address(0);
        _expectOpenRevert(it, abi.encodeWithSelector(IntentRouter.InvalidCallStep.selector, 1));
    }

    // ---------------------------------------------------------------------------------------------------
    // advance
    // ---------------------------------------------------------------------------------------------------

    function test_advance_onlyTheNextStepWhereTheFundsAre() public {
        Intent memory it = _routeIntent(1e18, 1);
        vm.chainId(CHAIN_A);
        bytes32 id = A.router.intentId(it);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotHolding.selector, id, IntentRouter.Status.None));
        A.router.advance(it, 0);
        _open(it);
        vm.chainId(CHAIN_A);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.StepNotExpected.selector, id, 0, 1));
        A.router.advance(it, 1);
        vm.chainId(CHAIN_B);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotHolding.selector, id, IntentRouter.Status.None));
        B.router.advance(it, 0);
        Packet memory hop = _packet(_advance(it, 0));
        vm.chainId(CHAIN_A);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotHolding.selector, id, IntentRouter.Status.InFlight));
        A.router.advance(it, 0);
        _relay(hop);
        vm.chainId(CHAIN_B);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.StepNotExpected.selector, id, 1, 2));
        B.router.advance(it, 2);
        // A different plan hashes to a different id, which holds nothing.
        Intent memory forged = _routeIntent(1e18, 1);
        forged.nonce = it.nonce;
        forged.steps[2].recipient = address(0xBAD);
        bytes32 forgedId = B.router.intentId(forged);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotHolding.selector, forgedId, IntentRouter.Status.None));
        B.router.advance(forged, 1);
    }

    function test_advance_unknownNextRouterReverts() public {
        Intent memory it = _routeIntent(1e18, 1);
        _open(it);
        vm.chainId(CHAIN_A);
        vm.prank(owner);
        A.router.setPeer(CHAIN_B, address(0));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.UnknownRouter.selector, CHAIN_B));
        A.router.advance(it, 0);
    }

    function test_advance_hopTimeoutIsTheStepsOrTheDeadline() public {
        Intent memory it = _routeIntent(1e18, 1);
        it.steps[0].timeout = 600;
        _open(it);
        vm.assertEq(_packet(_advance(it, 0)).timeoutTimestamp, block.timestamp + 600, "step timeout");

        Intent memory it2 = _routeIntent(1e18, 1);
        it2.steps[0].timeout = 30 days; // beyond the deadline: capped
        _open(it2);
        vm.assertEq(_packet(_advance(it2, 0)).timeoutTimestamp, it2.deadline, "capped at the deadline");

        Intent memory it3 = _routeIntent(1e18, 1);
        _open(it3);
        vm.assertEq(_packet(_advance(it3, 0)).timeoutTimestamp, it3.deadline, "no step timeout: deadline");
    }

    // ---------------------------------------------------------------------------------------------------
    // Failures and refunds
    // ---------------------------------------------------------------------------------------------------

    /// @dev Opens the demo route with `minOut`, brings it to B; returns its id.
    function _toB(uint256 minOut, uint8 policy) internal returns (Intent memory it, bytes32 id) {
        it = _routeIntent(100e18, minOut);
        if (policy == IntentLib.REFUND_RECOVERY) {
            it.refundPolicy = policy;
            it.recoveryAddress = recovery;
        }
        id = _open(it);
        _relay(_packet(_advance(it, 0)));
    }

    function test_callFails_originPolicy_sendsTheFundsHome() public {
        (Intent memory it, bytes32 id) = _toB(1_000e18, IntentLib.REFUND_ORIGIN); // impossible output
        vm.chainId(CHAIN_B);
        Packet[] memory ps = _advance(it, 1);
        Packet memory back = _packet(ps);
        IntentRouter.Position memory pos = _state(B, id);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.RefundInFlight), "refund in flight");
        vm.assertEq(pos.hopSequence, back.sequence, "hop recorded");
        vm.assertEq(back.dstChain, CHAIN_A, "home");
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router)), 0, "router keeps nothing");
        vm.assertTrue(_relay(back), "delivered");
        _assertStatus(B, id, IntentRouter.Status.Refunded, "refunded");
        vm.chainId(CHAIN_A);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "owner has the original token back, in full");
    }

    function test_callFails_recoveryPolicy_paysRecoveryWhereItStopped() public {
        (Intent memory it, bytes32 id) = _toB(1_000e18, IntentLib.REFUND_RECOVERY);
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, false, false, true, address(B.router));
        emit IntentRouter.IntentRefunded(id, vA_B, 100e18);
        vm.assertEq(_advance(it, 1).length, 0, "no return hop");
        _assertStatus(B, id, IntentRouter.Status.Refunded, "refunded");
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "recovery paid on B");
    }

    function test_callFails_emitsTheReason() public {
        (Intent memory it, bytes32 id) = _toB(1_000e18, IntentLib.REFUND_RECOVERY);
        vm.chainId(CHAIN_B);
        uint256 quote = pool.quote(vA_B, 100e18, address(tokenB));
        bytes memory inner = abi.encodeWithSelector(TestSwapPool.InsufficientOutput.selector, quote, 1_000e18);
        bytes memory detail = abi.encodeWithSelector(CallExecutor.CallReverted.selector, inner);
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(id, 1, IntentRouter.FailReason.CallFailed, detail);
        B.router.advance(it, 1);
    }

    function test_callStep_outputBelowTheStepsMinimumFails() public {
        // The pool itself would accept any output (its own minimum is 0); the step asks for more.
        Intent memory it = _routeIntent(100e18, 0);
        it.steps[1].minAmountOut = 1_000e18;
        it.refundPolicy = IntentLib.REFUND_RECOVERY;
        it.recoveryAddress = recovery;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        uint256 quote = pool.quote(vA_B, 100e18, address(tokenB));
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(
            id,
            1,
            IntentRouter.FailReason.CallFailed,
            abi.encodeWithSelector(IntentRouter.InsufficientOutput.selector, quote, 1_000e18)
        );
        B.router.advance(it, 1);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "input refunded, the swap rolled back");
        vm.assertEq(tokenB.balanceOf(address(B.router)), 0, "no output kept");
    }

    function test_callStep_longRevertDataIsTruncatedButDecodes() public {
        vm.chainId(CHAIN_B);
        LongRevertTarget longRevert = new LongRevertTarget();
        Intent memory it = _routeIntent(100e18, 0);
        it.steps[1].target = address(longRevert);
        it.steps[1].data = abi.encodeCall(LongRevertTarget.run, ());
        it.refundPolicy = IntentLib.REFUND_RECOVERY;
        it.recoveryAddress = recovery;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(
            id,
            1,
            IntentRouter.FailReason.CallFailed,
            abi.encodeWithSelector(CallExecutor.CallReverted.selector, new bytes(256))
        );
        B.router.advance(it, 1);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "refunded");
    }

    function test_callStep_inputNotExactlySpentFails() public {
        vm.chainId(CHAIN_B);
        FixedPriceTarget fixedPrice = new FixedPriceTarget();
        tokenB.mint(address(fixedPrice), 1_000e18);
        Intent memory it = _routeIntent(100e18, 1);
        // Takes only half of the input.
        it.steps[1].target = address(fixedPrice);
        it.steps[1].data = abi.encodeCall(FixedPriceTarget.swap, (IERC20(vA_B), 50e18, IERC20(address(tokenB)), 10e18));
        it.refundPolicy = IntentLib.REFUND_RECOVERY;
        it.recoveryAddress = recovery;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        address exec = address(B.router.executor());
        vm.chainId(CHAIN_B);
        uint256 before = IERC20(vA_B).balanceOf(exec);
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(
            id,
            1,
            IntentRouter.FailReason.CallFailed,
            abi.encodeWithSelector(CallExecutor.InputNotExactlySpent.selector, before, before + 50e18)
        );
        B.router.advance(it, 1);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "all of it refunded");
        vm.assertEq(tokenB.balanceOf(address(fixedPrice)), 1_000e18, "the target's payout rolled back");
    }

    function test_callStep_zeroOutputThenTransferRefundsNothing() public {
        vm.chainId(CHAIN_B);
        SinkTarget sink = new SinkTarget();
        Intent memory it = _routeIntent(100e18, 0);
        it.steps[1].target = address(sink);
        it.steps[1].data = abi.encodeCall(SinkTarget.take, (IERC20(vA_B), uint256(keccak256("Ferry.AMOUNT_IN"))));
        it.steps[1].minAmountOut = 0;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        _advance(it, 1);
        vm.assertEq(_state(B, id).amount, 0, "the owner accepted zero");
        vm.assertEq(_advance(it, 2).length, 0, "nothing to carry");
        _assertStatus(B, id, IntentRouter.Status.Refunded, "ends refunded (of nothing)");
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(address(sink)), 100e18, "the sink took what the owner signed for");
    }

    function test_tokenMismatch_refunds() public {
        Intent memory it = _routeIntent(100e18, 1);
        it.steps[1].token = address(0xDEAD); // not what arrives on B
        it.refundPolicy = IntentLib.REFUND_RECOVERY;
        it.recoveryAddress = recovery;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(id, 1, IntentRouter.FailReason.TokenMismatch, "");
        B.router.advance(it, 1);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "refunded");
    }

    function test_hopTimeout_thenRefundPaysTheOwnerOnOrigin() public {
        Intent memory it = _routeIntent(100e18, 1);
        it.steps[0].timeout = 300;
        bytes32 id = _open(it);
        Packet memory hop = _packet(_advance(it, 0));
        vm.warp(hop.timeoutTimestamp);
        vm.chainId(CHAIN_A);
        vm.expectEmit(true, true, false, true, address(A.router));
        emit IntentRouter.HopReturned(id, hop.sequence, address(tokenA), 100e18);
        _timeout(hop);
        IntentRouter.Position memory pos = _state(A, id);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.Refunding), "refunding");
        vm.assertEq(pos.amount, 100e18, "funds back on A");
        vm.chainId(CHAIN_A);
        vm.assertEq(A.router.hopIntent(hop.sequence), bytes32(0), "hop forgotten");
        vm.prank(address(0xCAFE)); // anyone
        A.router.refund(it);
        _assertStatus(A, id, IntentRouter.Status.Refunded, "refunded");
        vm.chainId(CHAIN_A);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "in full");
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotRefundable.selector, id, IntentRouter.Status.Refunded));
        A.router.refund(it);
    }

    function test_hopFailedAtDestination_refunds() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _open(it);
        Packet memory hop = _packet(_advance(it, 0));
        // B's router does not know A's any more: the hop is refused, the ack fails.
        vm.chainId(CHAIN_B);
        vm.prank(owner);
        B.router.setPeer(CHAIN_A, address(0));
        vm.assertFalse(_relay(hop), "failed ack");
        _assertStatus(A, id, IntentRouter.Status.Refunding, "refunding on A");
        vm.chainId(CHAIN_A);
        A.router.refund(it);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "owner whole");
    }

    function test_deadline_advanceRefundsAndRefundWorksForAnyone() public {
        (Intent memory it, bytes32 id) = _toB(1, IntentLib.REFUND_RECOVERY);
        vm.chainId(CHAIN_B);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotRefundable.selector, id, IntentRouter.Status.Holding));
        B.router.refund(it);
        vm.warp(it.deadline);
        vm.expectEmit(true, true, false, true, address(B.router));
        emit IntentRouter.StepFailed(id, 1, IntentRouter.FailReason.DeadlinePassed, "");
        B.router.advance(it, 1);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "refunded at the deadline");

        (Intent memory it2, bytes32 id2) = _toB(1, IntentLib.REFUND_RECOVERY);
        vm.warp(it2.deadline + 1);
        vm.chainId(CHAIN_B);
        vm.prank(address(0xCAFE));
        B.router.refund(it2);
        _assertStatus(B, id2, IntentRouter.Status.Refunded, "refunded by a stranger");
    }

    function test_refund_notWhileInFlightOrUnknown() public {
        Intent memory it = _routeIntent(100e18, 1);
        vm.chainId(CHAIN_A);
        bytes32 id = A.router.intentId(it);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotRefundable.selector, id, IntentRouter.Status.None));
        A.router.refund(it);
        _open(it);
        _advance(it, 0);
        vm.warp(it.deadline + 1);
        vm.chainId(CHAIN_A);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotRefundable.selector, id, IntentRouter.Status.InFlight));
        A.router.refund(it);
    }

    function test_returnHopTimesOut_thenRefundAgain() public {
        (Intent memory it, bytes32 id) = _toB(1_000e18, IntentLib.REFUND_ORIGIN);
        Packet memory back = _packet(_advance(it, 1));
        vm.warp(back.timeoutTimestamp);
        _timeout(back);
        _assertStatus(B, id, IntentRouter.Status.Refunding, "came back to B");
        vm.chainId(CHAIN_B);
        vm.recordLogs();
        B.router.refund(it);
        Packet memory again = _sentPacket();
        _assertStatus(B, id, IntentRouter.Status.RefundInFlight, "sent again");
        vm.assertTrue(_relay(again), "delivered this time");
        _assertStatus(B, id, IntentRouter.Status.Refunded, "refunded");
        vm.chainId(CHAIN_A);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "owner whole");
    }

    address internal constant RELAYER = address(0x2E1A);
    address internal constant STRANGER = address(0xBAD);

    /// @dev Opens `it` as a relayer would: someone other than the owner submits the owner's signature.
    function _openAs(address who, Intent memory it) internal returns (bytes32 id) {
        bytes memory sig = _signIntent(it, OWNER_KEY);
        vm.chainId(it.originChain);
        vm.prank(who);
        id = _chain(it.originChain).router.open(it, sig);
    }

    function test_cancel_byTheOpener_paysTheOwner() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(RELAYER, it);
        vm.assertEq(A.router.opener(id), RELAYER, "opener recorded");
        vm.assertEq(tokenA.balanceOf(user), 900e18, "pulled from the owner");
        vm.expectEmit(true, false, false, true, address(A.router));
        emit IntentRouter.IntentCancelled(id);
        vm.prank(RELAYER);
        A.router.cancel(it);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "every unit back to the owner");
        vm.assertEq(tokenA.balanceOf(RELAYER), 0, "nothing to the opener");
        vm.assertEq(tokenA.balanceOf(address(A.router)), 0, "nothing left in the router");
        _assertStatus(A, id, IntentRouter.Status.Cancelled, "cancelled");
        vm.assertEq(A.router.opener(id), address(0), "opener cleared");
        // Once is all: neither the opener nor the owner can cancel again.
        vm.prank(RELAYER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotCancellable.selector, id, IntentRouter.Status.Cancelled));
        A.router.cancel(it);
    }

    function test_cancel_byTheOwner_whenARelayerOpened() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(RELAYER, it);
        vm.prank(user);
        A.router.cancel(it);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "funds back");
        _assertStatus(A, id, IntentRouter.Status.Cancelled, "cancelled");
        vm.assertEq(A.router.opener(id), address(0), "opener cleared");
    }

    function test_cancel_strangerCannot() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(RELAYER, it);
        // The opener of another intent is a stranger to this one.
        Intent memory other = _routeIntent(1e18, 1);
        _openAs(STRANGER, other);
        vm.chainId(CHAIN_A);
        vm.prank(STRANGER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it);
        vm.prank(lp);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it);
        _assertStatus(A, id, IntentRouter.Status.Holding, "still holding");
        vm.assertEq(A.router.opener(id), RELAYER, "opener unchanged");
        vm.assertEq(tokenA.balanceOf(address(A.router)), 101e18, "both intents' funds still held");
    }

    function test_cancel_openedByTheOwner_onlyTheOwner() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(user, it);
        vm.assertEq(A.router.opener(id), address(0), "no slot when the owner opens");
        vm.prank(RELAYER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it);
        vm.prank(user);
        A.router.cancel(it);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "funds back");
    }

    function test_cancel_nobodyAfterStep0() public {
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(RELAYER, it);
        Packet memory hop = _packet(_advance(it, 0));
        vm.assertEq(A.router.opener(id), address(0), "opener cleared when step 0 ran");
        vm.prank(RELAYER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotCancellable.selector, id, IntentRouter.Status.InFlight));
        A.router.cancel(it);
        // On the next chain the intent waits (Holding, step 1): still not cancellable there, by anyone.
        _relay(hop);
        _assertStatus(B, id, IntentRouter.Status.Holding, "holding on B");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.NotCancellable.selector, id, IntentRouter.Status.Holding));
        B.router.cancel(it);
        vm.prank(RELAYER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        B.router.cancel(it);
        vm.chainId(CHAIN_A);
        vm.assertEq(tokenA.balanceOf(user), 900e18, "the funds went on, not back");
    }

    function test_cancel_openerClearedWhenStep0FailsOrIsRefunded() public {
        // Step 0 run past the deadline: refunded by advance.
        Intent memory it = _routeIntent(100e18, 1);
        bytes32 id = _openAs(RELAYER, it);
        vm.warp(it.deadline);
        _advance(it, 0);
        _assertStatus(A, id, IntentRouter.Status.Refunded, "refunded by advance");
        vm.assertEq(A.router.opener(id), address(0), "cleared by advance");
        // Never advanced, refunded after the deadline.
        Intent memory it2 = _routeIntent(50e18, 1);
        bytes32 id2 = _openAs(RELAYER, it2);
        vm.warp(it2.deadline);
        A.router.refund(it2);
        _assertStatus(A, id2, IntentRouter.Status.Refunded, "refunded");
        vm.assertEq(A.router.opener(id2), address(0), "cleared by refund");
        vm.prank(RELAYER);
        vm.expectRevert(IntentRouter.NotOwnerOrOpener.selector);
        A.router.cancel(it2);
        vm.assertEq(tokenA.balanceOf(user), 1_000e18, "owner whole");
    }

    // ---------------------------------------------------------------------------------------------------
    // Isolation between intents
    // ---------------------------------------------------------------------------------------------------

    function test_maliciousCall_cannotReachOtherIntentsFunds() public {
        // A victim's intent waits on B with 100 vouchers.
        (, bytes32 victim) = _toB(1, IntentLib.REFUND_ORIGIN);
        // The attacker signs an intent whose call step asks the voucher contract itself to pay the attacker
        // 150 (more than the 10 the attacker brought), from whoever makes the call.
        vm.chainId(CHAIN_A);
        tokenA.mint(user, 10e18);
        Intent memory evil = _routeIntent(10e18, 0);
        address attacker = address(0xEE);
        evil.steps[1].target = vA_B;
        evil.steps[1].data = abi.encodeCall(IERC20.transfer, (attacker, 150e18));
        evil.steps[1].minAmountOut = 0;
        evil.refundPolicy = IntentLib.REFUND_RECOVERY;
        evil.recoveryAddress = attacker;
        bytes32 evilId = _open(evil);
        _relay(_packet(_advance(evil, 0)));
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router)), 110e18, "router holds both");
        B.router.advance(evil, 1);
        // The executor had only the attacker's 10: the call failed and the attacker got its own 10 back.
        vm.assertEq(IERC20(vA_B).balanceOf(attacker), 10e18, "attacker: its own funds only");
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router)), 100e18, "victim's funds untouched");
        vm.assertEq(_state(B, victim).amount, 100e18, "victim's position intact");
        _assertStatus(B, evilId, IntentRouter.Status.Refunded, "attacker refunded");
    }

    function test_maliciousCall_cannotReenterTheRouter() public {
        // A victim's intent waits on B for its swap.
        (Intent memory victim, bytes32 victimId) = _toB(1, IntentLib.REFUND_ORIGIN);
        // The attacker's call tries to run the victim's step from inside its own (where the attacker might
        // count the victim's output as its own).
        vm.chainId(CHAIN_B);
        ReenterTarget re = new ReenterTarget();
        Intent memory evil = _routeIntent(1e18, 0);
        evil.refundPolicy = IntentLib.REFUND_RECOVERY;
        evil.recoveryAddress = recovery;
        evil.steps[1].target = address(re);
        evil.steps[1].data =
            abi.encodeCall(ReenterTarget.poke, (address(B.router), abi.encodeCall(IntentRouter.advance, (victim, 1))));
        vm.chainId(CHAIN_A);
        tokenA.mint(user, 1e18);
        bytes32 evilId = _open(evil);
        _relay(_packet(_advance(evil, 0)));
        vm.chainId(CHAIN_B);
        B.router.advance(evil, 1);
        _assertStatus(B, evilId, IntentRouter.Status.Refunded, "the re-entering call failed");
        IntentRouter.Position memory pos = _state(B, victimId);
        vm.assertEq(uint256(pos.status), uint256(IntentRouter.Status.Holding), "victim untouched");
        vm.assertEq(pos.step, 1, "victim still at its step");
        vm.assertEq(pos.amount, 100e18, "victim's amount");
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 1e18, "attacker's own refund only");
    }

    function test_callStep_outOfGasRevertsInsteadOfRefunding() public {
        vm.chainId(CHAIN_B);
        LoopTarget loop = new LoopTarget();
        Intent memory it = _routeIntent(100e18, 0);
        it.steps[1].target = address(loop);
        it.steps[1].data = abi.encodeCall(LoopTarget.run, ());
        it.refundPolicy = IntentLib.REFUND_RECOVERY;
        it.recoveryAddress = recovery;
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        vm.expectRevert(IntentRouter.InsufficientGas.selector);
        B.router.advance{gas: 2_000_000}(it, 1);
        _assertStatus(B, id, IntentRouter.Status.Holding, "still holding: a starved call is no failure");
        // The deadline is the way out.
        vm.warp(it.deadline);
        vm.chainId(CHAIN_B);
        B.router.refund(it);
        vm.assertEq(IERC20(vA_B).balanceOf(recovery), 100e18, "refunded after the deadline");
    }

    function test_runCall_onlyThroughTheRouter() public {
        vm.chainId(CHAIN_B);
        vm.expectRevert(IntentRouter.OnlySelf.selector);
        B.router.runCall(address(pool), "", vA_B, 1, address(tokenB), 0);
        CallExecutor exec = B.router.executor();
        vm.expectRevert(CallExecutor.OnlyRouter.selector);
        exec.execute(address(pool), "", IERC20(vA_B), 1, IERC20(address(tokenB)));
    }

    // ---------------------------------------------------------------------------------------------------
    // Vault hooks
    // ---------------------------------------------------------------------------------------------------

    function test_hooks_onlyFromTheVault() public {
        vm.chainId(CHAIN_B);
        vm.expectRevert(IntentRouter.OnlyVault.selector);
        B.router.onTransferReceived(CHAIN_A, bytes32(0), address(0), 0, "");
        vm.expectRevert(IntentRouter.OnlyVault.selector);
        B.router.onTransferDelivered(1);
        vm.expectRevert(IntentRouter.OnlyVault.selector);
        B.router.onTransferRefunded(1, address(0), 0);
    }

    function test_onTransferReceived_checksSenderMemoAndPosition() public {
        vm.chainId(CHAIN_B);
        bytes32 peerA = bytes32(uint256(uint160(address(A.router))));
        vm.startPrank(address(B.vault));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.UnknownRouter.selector, CHAIN_A));
        B.router.onTransferReceived(CHAIN_A, bytes32(uint256(0xBAD)), vA_B, 1, abi.encode(bytes32("x"), uint16(1)));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.UnknownRouter.selector, 4242));
        B.router.onTransferReceived(4242, peerA, vA_B, 1, abi.encode(bytes32("x"), uint16(1)));
        vm.expectRevert(IntentRouter.BadMemo.selector);
        B.router.onTransferReceived(CHAIN_A, peerA, vA_B, 1, hex"01");
        B.router.onTransferReceived(CHAIN_A, peerA, vA_B, 1, abi.encode(bytes32("x"), uint16(1)));
        vm.expectRevert(
            abi.encodeWithSelector(IntentRouter.PositionBusy.selector, bytes32("x"), IntentRouter.Status.Holding)
        );
        B.router.onTransferReceived(CHAIN_A, peerA, vA_B, 1, abi.encode(bytes32("x"), uint16(1)));
        // Unknown hops are ignored (the acknowledgement must never get stuck on them).
        B.router.onTransferDelivered(999);
        B.router.onTransferRefunded(999, vA_B, 1);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------------

    function test_owner_setPeerAndRefundHopTimeout() public {
        vm.chainId(CHAIN_A);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        A.router.setPeer(CHAIN_B, address(1));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        A.router.setRefundHopTimeout(1 days);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.InvalidPeerChain.selector, CHAIN_A));
        A.router.setPeer(CHAIN_A, address(1));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.InvalidPeerChain.selector, 0));
        A.router.setPeer(0, address(1));
        vm.expectEmit(true, false, false, true, address(A.router));
        emit IntentRouter.PeerSet(99, address(7));
        A.router.setPeer(99, address(7));
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.InvalidRefundHopTimeout.selector, 299));
        A.router.setRefundHopTimeout(299);
        vm.expectRevert(abi.encodeWithSelector(IntentRouter.InvalidRefundHopTimeout.selector, 30 days + 1));
        A.router.setRefundHopTimeout(30 days + 1);
        vm.expectEmit(false, false, false, true, address(A.router));
        emit IntentRouter.RefundHopTimeoutChanged(2 hours);
        A.router.setRefundHopTimeout(2 hours);
        vm.stopPrank();
        vm.assertEq(A.router.peers(99), address(7), "peer");
        vm.assertEq(A.router.refundHopTimeout(), 2 hours, "timeout");
    }

    // ---------------------------------------------------------------------------------------------------
    // Fuzz
    // ---------------------------------------------------------------------------------------------------

    /// Any amount either completes (recipient paid the swap's output) or refunds in full.
    function testFuzz_route_completesOrRefundsInFull(uint256 amount, uint256 minOut) public {
        amount = bound(amount, 1, 1_000e18);
        minOut = bound(minOut, 0, 2 * amount);
        Intent memory it = _routeIntent(amount, minOut);
        bytes32 id = _open(it);
        _relay(_packet(_advance(it, 0)));
        vm.chainId(CHAIN_B);
        uint256 quote = pool.quote(vA_B, amount, address(tokenB));
        Packet[] memory ps = _advance(it, 1);
        if (quote >= minOut && quote > 0) {
            vm.assertEq(ps.length, 0, "swapped");
            _relay(_packet(_advance(it, 2)));
            _assertStatus(B, id, IntentRouter.Status.Completed, "completed");
            vm.chainId(CHAIN_C);
            vm.assertEq(IERC20(vB_C).balanceOf(recipient), quote, "recipient got the quote");
        } else {
            _relay(_packet(ps));
            _assertStatus(B, id, IntentRouter.Status.Refunded, "refunded");
            vm.chainId(CHAIN_A);
            vm.assertEq(tokenA.balanceOf(user), 1_000e18, "owner whole");
        }
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20(vA_B).balanceOf(address(B.router)), 0, "nothing left in the router");
        vm.assertEq(tokenB.balanceOf(address(B.router)), 0, "nothing left in the router (out)");
    }

    /// Whatever the deadline and the time taken, a hop lands before the deadline or the funds come back.
    function testFuzz_deadline_hopLandsOrRefunds(uint64 life, uint64 elapsed) public {
        life = uint64(bound(life, 10, 7 days));
        elapsed = uint64(bound(elapsed, 0, 8 days));
        Step[] memory steps = new Step[](1);
        steps[0] = _xfer(CHAIN_A, address(tokenA), 7e18, CHAIN_C, recipient);
        Intent memory it = _intent(steps);
        it.deadline = uint64(block.timestamp) + life;
        bytes32 id = _open(it);
        Packet memory hop = _packet(_advance(it, 0));
        vm.warp(block.timestamp + elapsed);
        if (elapsed < life) {
            _relay(hop);
            _assertStatus(A, id, IntentRouter.Status.Completed, "landed");
        } else {
            _timeout(hop);
            vm.chainId(CHAIN_A);
            A.router.refund(it);
            _assertStatus(A, id, IntentRouter.Status.Refunded, "refunded");
            vm.chainId(CHAIN_A);
            vm.assertEq(tokenA.balanceOf(user), 1_000e18, "whole");
        }
    }
}
