// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IntentRouter} from "../../src/IntentRouter.sol";
import {Fixture} from "../utils/Fixture.sol";
import {TestBase} from "../utils/TestBase.sol";
import {BridgeHandler} from "./BridgeHandler.sol";

/// @notice Invariants over random sequences of transfers, deliveries, acknowledgements, timeouts and intent
/// steps across two chains in one EVM (see BridgeHandler). forge reads targetContracts/targetSelectors with
/// the same ABI as forge-std's StdInvariant.
contract BridgeInvariantTest is TestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    BridgeHandler internal h;

    function setUp() public {
        h = new BridgeHandler();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(h);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        bytes4[] memory sel = new bytes4[](8);
        sel[0] = BridgeHandler.warp.selector;
        sel[1] = BridgeHandler.userTransfer.selector;
        sel[2] = BridgeHandler.deliverBatch.selector;
        sel[3] = BridgeHandler.acknowledge.selector;
        sel[4] = BridgeHandler.timeoutPacket.selector;
        sel[5] = BridgeHandler.openIntent.selector;
        sel[6] = BridgeHandler.advanceIntent.selector;
        sel[7] = BridgeHandler.refundIntent.selector;
        s = new FuzzSelector[](1);
        s[0] = FuzzSelector(address(h), sel);
    }

    /// Honest relaying never reverts and the chains never disagree with the model.
    function invariant_honestActionsNeverRevert() public view {
        vm.assertEq(h.unexpected(), "", "an honest action failed");
    }

    /// No token is created or destroyed: what a vault holds locked equals the vouchers outstanding on the
    /// other chain plus the value in flight (sent, neither landed nor refunded).
    function invariant_lockedEqualsVouchersOutstanding() public view {
        (Fixture.Chain memory a, Fixture.Chain memory b) = h.chains();
        (address tokenA, address vA_B, address tokenB, address vB_A) = h.tokens();
        uint256 lockedA = a.vault.locked(tokenA);
        vm.assertEq(IERC20(tokenA).balanceOf(address(a.vault)), lockedA, "vault A holds exactly what is locked");
        vm.assertEq(lockedA, _supply(vA_B) + h.limbo(1001), "A's token: locked == vouchers on B + in flight");
        uint256 lockedB = b.vault.locked(tokenB);
        vm.assertEq(IERC20(tokenB).balanceOf(address(b.vault)), lockedB, "vault B holds exactly what is locked");
        vm.assertEq(lockedB, _supply(vB_A) + h.limbo(2002), "B's token: locked == vouchers on A + in flight");
    }

    /// No packet is both delivered and timed out; a settled packet has no commitment left.
    function invariant_noPacketDeliveredAndTimedOut() public view {
        (Fixture.Chain memory a, Fixture.Chain memory b) = h.chains();
        uint256 n = h.packetCount();
        for (uint256 i; i < n; ++i) {
            (uint64 src, uint64 dst, uint64 seq, bool acked, bool timedOut) = h.packetState(i);
            Fixture.Chain memory d = dst == a.id ? a : b;
            Fixture.Chain memory s = src == a.id ? a : b;
            bool received = d.gateway.received(src, seq);
            vm.assertFalse(received && timedOut, "a packet was both delivered and timed out");
            vm.assertFalse(acked && timedOut, "a packet was both acknowledged and timed out");
            vm.assertEq(s.gateway.commitments(seq) == bytes32(0), acked || timedOut, "commitment iff pending");
        }
    }

    /// Every intent's funds are in exactly one place: held by the router on A, held by the router on B, in
    /// flight in one hop, or paid out. And each router holds exactly the sum of its intents' positions,
    /// token by token: no intent's funds can pay for another's.
    function invariant_intentFundsInExactlyOnePlace() public view {
        (Fixture.Chain memory a, Fixture.Chain memory b) = h.chains();
        uint256 n = h.intentCount();
        address[4] memory toks;
        (toks[0], toks[1], toks[2], toks[3]) = h.tokens();
        uint256[4] memory heldA;
        uint256[4] memory heldB;
        for (uint256 i; i < n; ++i) {
            bytes32 id = h.intentIds(i);
            IntentRouter.Position memory pa = a.router.intentState(id);
            IntentRouter.Position memory pb = b.router.intentState(id);
            uint256 places = h.hopsInLimbo(id);
            if (_holds(pa.status)) {
                ++places;
                heldA[_index(toks, pa.token)] += pa.amount;
            }
            if (_holds(pb.status)) {
                ++places;
                heldB[_index(toks, pb.token)] += pb.amount;
            }
            if (h.finishedByHop(id) || _finished(pa.status) || _finished(pb.status)) ++places;
            vm.assertEq(places, 1, "an intent's funds are in exactly one place");
        }
        for (uint256 t; t < 4; ++t) {
            vm.assertEq(_balance(toks[t], address(a.router)), heldA[t], "router A holds exactly its positions");
            vm.assertEq(_balance(toks[t], address(b.router)), heldB[t], "router B holds exactly its positions");
            vm.assertEq(_balance(toks[t], address(a.router.executor())), 0, "executor A holds nothing");
            vm.assertEq(_balance(toks[t], address(b.router.executor())), 0, "executor B holds nothing");
        }
    }

    /// The opener's right to cancel lasts exactly while the intent waits for step 0 on its origin (A): the
    /// slot is cleared whatever ends that wait. (The handler opens every intent, never as its owner.)
    function invariant_openerOnlyWhileWaitingForStep0() public view {
        (Fixture.Chain memory a,) = h.chains();
        uint256 n = h.intentCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = h.intentIds(i);
            IntentRouter.Position memory pa = a.router.intentState(id);
            bool waiting = pa.status == IntentRouter.Status.Holding && pa.step == 0;
            vm.assertEq(a.router.opener(id), waiting ? address(h) : address(0), "opener kept only before step 0");
        }
    }

    function _holds(IntentRouter.Status s) internal pure returns (bool) {
        return s == IntentRouter.Status.Holding || s == IntentRouter.Status.Refunding;
    }

    function _finished(IntentRouter.Status s) internal pure returns (bool) {
        return
            s == IntentRouter.Status.Completed || s == IntentRouter.Status.Refunded
                || s == IntentRouter.Status.Cancelled;
    }

    function _index(address[4] memory toks, address t) internal pure returns (uint256) {
        for (uint256 i; i < 4; ++i) {
            if (toks[i] == t) return i;
        }
        revert("unknown token in a position");
    }

    function _supply(address token) internal view returns (uint256) {
        return token.code.length == 0 ? 0 : IERC20(token).totalSupply();
    }

    function _balance(address token, address who) internal view returns (uint256) {
        return token.code.length == 0 ? 0 : IERC20(token).balanceOf(who);
    }
}
