// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {TokenVault} from "../src/TokenVault.sol";
import {Voucher} from "../src/Voucher.sol";
import {Packet} from "../src/interfaces/IGateway.sol";
import {Bytes32Address} from "../src/libraries/Bytes32Address.sol";
import {TestToken} from "../src/testing/TestToken.sol";
import {Fixture} from "./utils/Fixture.sol";
import {MockApp} from "./mocks/MockApp.sol";
import {FeeToken, HugeDecimalsToken, NoDecimalsToken} from "./mocks/Tokens.sol";
import {HookRecipient, HookSender} from "./mocks/TransferHooks.sol";

contract TokenVaultTest is Fixture {
    TestToken internal token; // native on A, 6 decimals
    address internal alice = address(0xA71CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);

    function setUp() public {
        _setUpChains();
        vm.chainId(CHAIN_A);
        token = new TestToken("Test A", "TA", 6);
        token.mint(alice, 1_000_000e6);
        vm.prank(alice);
        token.approve(address(A.vault), type(uint256).max);
    }

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function _voucherAOn(Chain memory c) internal returns (Voucher) {
        vm.chainId(c.id);
        return Voucher(c.vault.voucherOf(CHAIN_A, address(token)));
    }

    /// @dev `from` sends `amount` of `tok` on chain `src` to `to` on `dst`; returns the packet.
    function _send(Chain memory src, address from, address tok, uint256 amount, uint64 dst, address to)
        internal
        returns (Packet memory)
    {
        vm.chainId(src.id);
        vm.startPrank(from);
        IERC20Like(tok).approve(address(src.vault), amount);
        vm.recordLogs();
        src.vault.transfer(tok, amount, dst, to, uint64(block.timestamp + 1 hours));
        vm.stopPrank();
        return _sentPacket();
    }

    // ---------------------------------------------------------------------------------------------------
    // Happy paths
    // ---------------------------------------------------------------------------------------------------

    function test_transfer_locksNativeAndEncodesPayload() public {
        vm.chainId(CHAIN_A);
        uint64 t = uint64(block.timestamp + 1 hours);
        vm.expectEmit(true, true, true, true, address(A.vault));
        emit TokenVault.TransferSent(1, CHAIN_B, alice, address(token), 100e6, bob, CHAIN_A, _b32(address(token)), "");
        vm.recordLogs();
        vm.prank(alice);
        uint64 seq = A.vault.transfer(address(token), 100e6, CHAIN_B, bob, t);
        Packet memory p = _sentPacket();
        vm.assertEq(seq, 1, "sequence");
        vm.assertEq(A.vault.locked(address(token)), 100e6, "locked");
        vm.assertEq(token.balanceOf(address(A.vault)), 100e6, "held");
        vm.assertEq(p.receiver, _b32(address(B.vault)), "to the peer vault");
        vm.assertEq(p.sender, _b32(address(A.vault)), "from this vault");
        vm.assertEq(p.timeoutTimestamp, t, "timeout");
        bytes memory expected = abi.encode(
            CHAIN_A, _b32(address(token)), uint8(6), uint256(100e6), _b32(alice), _b32(bob), false, bytes("")
        );
        vm.assertEq(p.payload, expected, "payload = abi.encode(flat TransferData)");
    }

    function test_deliver_mintsVoucherAtPredictedAddress() public {
        Voucher predicted = _voucherAOn(B);
        vm.assertEq(address(predicted).code.length, 0, "not deployed yet");
        Packet memory p = _send(A, alice, address(token), 100e6, CHAIN_B, bob);
        vm.chainId(CHAIN_B);
        vm.expectEmit(true, true, false, true, address(B.vault));
        emit TokenVault.VoucherDeployed(CHAIN_A, _b32(address(token)), address(predicted));
        vm.expectEmit(true, true, true, true, address(B.vault));
        emit TokenVault.TransferReceived(CHAIN_A, p.sequence, bob, address(predicted), 100e6);
        (bool ok,) = _deliver(p);
        vm.assertTrue(ok, "delivered");
        vm.assertEq(predicted.balanceOf(bob), 100e6, "bob holds vouchers");
        vm.assertEq(predicted.totalSupply(), 100e6, "supply");
        vm.assertEq(predicted.decimals(), 6, "origin decimals");
        vm.assertEq(predicted.originChain(), CHAIN_A, "origin chain");
        vm.assertEq(predicted.originToken(), _b32(address(token)), "origin token");
        vm.assertEq(predicted.vault(), address(B.vault), "vault");
        vm.assertEq(predicted.symbol(), "FVOUCHER", "symbol");
        vm.assertEq(
            predicted.name(),
            string.concat("Ferry voucher 1001:", _lower(address(token))),
            "name says where it comes from"
        );
        (uint64 oc, bytes32 ot) = B.vault.originOf(address(predicted));
        vm.assertEq(oc, CHAIN_A, "originOf chain");
        vm.assertEq(ot, _b32(address(token)), "originOf token");
        (oc, ot) = B.vault.originOf(address(token));
        vm.assertEq(oc, 0, "a non-voucher has no origin");
        vm.assertEq(B.vault.voucherOf(CHAIN_B, address(token)), address(token), "native maps to itself");
    }

    function _lower(address a) internal pure returns (string memory) {
        bytes memory hexChars = "0123456789abcdef";
        bytes memory out = new bytes(42);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < 20; ++i) {
            uint8 b = uint8(uint160(a) >> (8 * (19 - i)));
            out[2 + 2 * i] = hexChars[b >> 4];
            out[3 + 2 * i] = hexChars[b & 0x0f];
        }
        return string(out);
    }

    function test_roundTrip_AtoBtoA_returnsTheOriginalToken() public {
        _relay(_send(A, alice, address(token), 100e6, CHAIN_B, bob));
        Voucher v = _voucherAOn(B);
        Packet memory back = _send(B, bob, address(v), 40e6, CHAIN_A, carol);
        vm.chainId(CHAIN_B);
        vm.assertEq(v.totalSupply(), 60e6, "burned on send");
        vm.assertTrue(_relay(back), "delivered home");
        vm.chainId(CHAIN_A);
        vm.assertEq(token.balanceOf(carol), 40e6, "carol has the native token");
        vm.assertEq(A.vault.locked(address(token)), 60e6, "unlocked 40");
        vm.assertEq(token.balanceOf(address(A.vault)), 60e6, "vault holds the rest");
    }

    function test_voucherTravels_BtoC_andHomeFromC() public {
        _relay(_send(A, alice, address(token), 100e6, CHAIN_B, bob));
        Voucher vB = _voucherAOn(B);
        vm.assertTrue(_relay(_send(B, bob, address(vB), 70e6, CHAIN_C, carol)), "B -> C");
        Voucher vC = _voucherAOn(C);
        vm.chainId(CHAIN_C);
        vm.assertEq(vC.balanceOf(carol), 70e6, "carol holds C vouchers of A's token");
        vm.assertEq(vC.originChain(), CHAIN_A, "origin is still A");
        vm.chainId(CHAIN_B);
        vm.assertEq(vB.totalSupply(), 30e6, "B supply");
        vm.assertTrue(_relay(_send(C, carol, address(vC), 70e6, CHAIN_A, alice)), "C -> A");
        vm.chainId(CHAIN_A);
        vm.assertEq(A.vault.locked(address(token)), 30e6, "locked = vouchers outstanding");
        vm.assertEq(token.balanceOf(alice), 1_000_000e6 - 30e6, "alice got 70 back");
    }

    // ---------------------------------------------------------------------------------------------------
    // Refunds
    // ---------------------------------------------------------------------------------------------------

    function test_failedDelivery_refundsNativeInFull() public {
        Packet memory p = _send(A, alice, address(token), 100e6, CHAIN_B, bob);
        // B no longer trusts A's vault: its onPacket refuses, the acknowledgement fails.
        vm.chainId(CHAIN_B);
        vm.prank(owner);
        B.vault.setPeer(CHAIN_A, bytes32(0));
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "failed ack");
        vm.assertEq(result, abi.encodeWithSelector(TokenVault.UnknownPeer.selector, CHAIN_A), "reason");
        vm.chainId(CHAIN_A);
        vm.expectEmit(true, true, false, true, address(A.vault));
        emit TokenVault.TransferRefunded(p.sequence, alice, address(token), 100e6, false);
        _ack(p, ok, result);
        vm.assertEq(token.balanceOf(alice), 1_000_000e6, "alice refunded in full");
        vm.assertEq(A.vault.locked(address(token)), 0, "nothing locked");
    }

    function test_timeout_refundsNativeInFull() public {
        Packet memory p = _send(A, alice, address(token), 100e6, CHAIN_B, bob);
        vm.warp(p.timeoutTimestamp);
        vm.chainId(CHAIN_A);
        vm.expectEmit(true, true, false, true, address(A.vault));
        emit TokenVault.TransferRefunded(p.sequence, alice, address(token), 100e6, true);
        _timeout(p);
        vm.assertEq(token.balanceOf(alice), 1_000_000e6, "refunded");
        vm.assertEq(A.vault.locked(address(token)), 0, "unlocked");
    }

    function test_timeout_remintsBurnedVoucher() public {
        _relay(_send(A, alice, address(token), 100e6, CHAIN_B, bob));
        Voucher v = _voucherAOn(B);
        Packet memory p = _send(B, bob, address(v), 100e6, CHAIN_A, carol);
        vm.chainId(CHAIN_B);
        vm.assertEq(v.balanceOf(bob), 0, "burned");
        vm.warp(p.timeoutTimestamp + 1);
        _timeout(p);
        vm.chainId(CHAIN_B);
        vm.assertEq(v.balanceOf(bob), 100e6, "re-minted to bob");
        vm.assertEq(v.totalSupply(), 100e6, "supply restored");
    }

    function test_memoTransfer_notifiesSenderOfDeliveryAndCallsRecipient() public {
        vm.chainId(CHAIN_A);
        HookSender sender = new HookSender(A.vault);
        token.mint(address(sender), 50e6);
        vm.chainId(CHAIN_B);
        HookRecipient recipient = new HookRecipient(address(B.vault));
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        uint64 seq =
            sender.send(address(token), 50e6, CHAIN_B, address(recipient), uint64(block.timestamp + 100), hex"beef");
        Packet memory p = _sentPacket();
        vm.assertTrue(_relay(p), "delivered");
        vm.chainId(CHAIN_B);
        vm.assertEq(recipient.calls(), 1, "recipient hook called");
        vm.assertEq(recipient.lastMemo(), hex"beef", "with the memo");
        vm.assertEq(recipient.lastSrcChain(), CHAIN_A, "source chain");
        vm.assertEq(recipient.lastSender(), _b32(address(sender)), "source sender");
        vm.assertEq(recipient.lastAmount(), 50e6, "amount");
        vm.assertEq(recipient.balanceSeen(), 50e6, "tokens credited before the hook");
        vm.assertEq(sender.delivered(), 1, "sender told of delivery");
        vm.assertEq(sender.lastSequence(), seq, "for that sequence");
    }

    function test_memoTransfer_refusingRecipientRefundsAndNotifiesSender() public {
        vm.chainId(CHAIN_A);
        HookSender sender = new HookSender(A.vault);
        token.mint(address(sender), 50e6);
        vm.chainId(CHAIN_B);
        HookRecipient recipient = new HookRecipient(address(B.vault));
        recipient.setRefuse(true);
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        uint64 seq =
            sender.send(address(token), 50e6, CHAIN_B, address(recipient), uint64(block.timestamp + 100), hex"01");
        vm.assertFalse(_relay(_sentPacket()), "failed ack");
        vm.chainId(CHAIN_A);
        vm.assertEq(token.balanceOf(address(sender)), 50e6, "refunded");
        vm.assertEq(sender.refunded(), 1, "sender told");
        vm.assertEq(sender.lastSequence(), seq, "which transfer");
        vm.assertEq(sender.lastToken(), address(token), "which token");
        vm.assertEq(sender.lastAmount(), 50e6, "how much");
        vm.chainId(CHAIN_B);
        vm.assertEq(B.vault.voucherOf(CHAIN_A, address(token)).code.length, 0, "the failed receipt left nothing behind");
    }

    function test_memoTransfer_toRecipientWithoutCodeFails() public {
        vm.chainId(CHAIN_A);
        HookSender sender = new HookSender(A.vault);
        token.mint(address(sender), 5e6);
        vm.recordLogs();
        sender.send(address(token), 5e6, CHAIN_B, bob, uint64(block.timestamp + 100), hex"01");
        vm.assertFalse(_relay(_sentPacket()), "an EOA cannot take a memo");
        vm.chainId(CHAIN_A);
        vm.assertEq(token.balanceOf(address(sender)), 5e6, "refunded");
    }

    function test_refusingSenderHookKeepsAckPendingForRetry() public {
        vm.chainId(CHAIN_A);
        HookSender sender = new HookSender(A.vault);
        token.mint(address(sender), 5e6);
        vm.recordLogs();
        sender.send(address(token), 5e6, CHAIN_B, bob, uint64(block.timestamp + 100), "");
        Packet memory p = _sentPacket();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertTrue(ok, "delivered (empty memo: no recipient hook)");
        sender.setRefuse(true);
        vm.chainId(CHAIN_A);
        bytes memory att = _attest(A.gateway.acknowledgementDigest(keccak256(abi.encode(p)), ok, result));
        vm.expectRevert(HookSender.Refused.selector);
        A.gateway.acknowledge(p, ok, result, att);
        sender.setRefuse(false);
        A.gateway.acknowledge(p, ok, result, att);
        vm.assertEq(sender.delivered(), 1, "told on retry");
    }

    // ---------------------------------------------------------------------------------------------------
    // Forged and inconsistent packets
    // ---------------------------------------------------------------------------------------------------

    function test_onPacket_fromNonPeerFailsWithoutMinting() public {
        // Anyone can send a packet to B's vault through the Gateway; only the peer vault's count.
        vm.chainId(CHAIN_A);
        MockApp forger = new MockApp(A.gateway);
        bytes memory payload = abi.encode(
            CHAIN_A, _b32(address(token)), uint8(6), uint256(1e30), _b32(alice), _b32(bob), false, bytes("")
        );
        vm.recordLogs();
        forger.send(CHAIN_B, _b32(address(B.vault)), uint64(block.timestamp + 100), payload);
        (bool ok, bytes memory result) = _deliver(_sentPacket());
        vm.assertFalse(ok, "refused");
        vm.assertEq(result, abi.encodeWithSelector(TokenVault.UnknownPeer.selector, CHAIN_A), "unknown peer");
        vm.assertEq(B.vault.voucherOf(CHAIN_A, address(token)).code.length, 0, "no voucher");
    }

    function test_onPacket_unlockBeyondLockedFails() public {
        // Defence in depth: even a (compromised) peer cannot unlock more than is locked.
        _relay(_send(A, alice, address(token), 10e6, CHAIN_B, bob));
        vm.chainId(CHAIN_B);
        MockApp rogue = new MockApp(B.gateway);
        vm.chainId(CHAIN_A);
        vm.prank(owner);
        A.vault.setPeer(CHAIN_B, _b32(address(rogue)));
        bytes memory payload = abi.encode(
            CHAIN_A, _b32(address(token)), uint8(6), uint256(11e6), _b32(bob), _b32(carol), false, bytes("")
        );
        vm.chainId(CHAIN_B);
        vm.recordLogs();
        rogue.send(CHAIN_A, _b32(address(A.vault)), uint64(block.timestamp + 100), payload);
        (bool ok, bytes memory result) = _deliver(_sentPacket());
        vm.assertFalse(ok, "refused");
        vm.assertEq(
            result, abi.encodeWithSelector(TokenVault.InsufficientLocked.selector, address(token), 11e6, 10e6), "reason"
        );
        vm.chainId(CHAIN_A);
        vm.assertEq(token.balanceOf(carol), 0, "nothing unlocked");
    }

    function test_onPacket_recipientNotAnEvmAddressFails() public {
        vm.chainId(CHAIN_B);
        MockApp rogue = new MockApp(B.gateway);
        vm.chainId(CHAIN_A);
        vm.prank(owner);
        A.vault.setPeer(CHAIN_B, _b32(address(rogue)));
        bytes32 bad = bytes32(uint256(1) << 255);
        bytes memory payload = abi.encode(CHAIN_B, _b32(address(1)), uint8(18), uint256(1), bad, bad, false, bytes(""));
        vm.chainId(CHAIN_B);
        vm.recordLogs();
        rogue.send(CHAIN_A, _b32(address(A.vault)), uint64(block.timestamp + 100), payload);
        (bool ok, bytes memory result) = _deliver(_sentPacket());
        vm.assertFalse(ok, "refused");
        vm.assertEq(result, abi.encodeWithSelector(Bytes32Address.NotAnEvmAddress.selector, bad), "reason");
    }

    function test_callbacks_onlyFromGateway() public {
        Packet memory p;
        vm.expectRevert(TokenVault.OnlyGateway.selector);
        A.vault.onPacket(p);
        vm.expectRevert(TokenVault.OnlyGateway.selector);
        A.vault.onAck(p, false, "");
        vm.expectRevert(TokenVault.OnlyGateway.selector);
        A.vault.onTimeout(p);
    }

    // ---------------------------------------------------------------------------------------------------
    // Reverts on the way out
    // ---------------------------------------------------------------------------------------------------

    function test_transfer_rejectsBadArguments() public {
        vm.chainId(CHAIN_A);
        uint64 t = uint64(block.timestamp + 100);
        vm.startPrank(alice);
        vm.expectRevert(TokenVault.ZeroAmount.selector);
        A.vault.transfer(address(token), 0, CHAIN_B, bob, t);
        vm.expectRevert(TokenVault.ZeroRecipient.selector);
        A.vault.transfer(address(token), 1, CHAIN_B, address(0), t);
        vm.expectRevert(abi.encodeWithSelector(TokenVault.UnknownPeer.selector, 4242));
        A.vault.transfer(address(token), 1, 4242, bob, t);
        vm.expectRevert(abi.encodeWithSelector(TokenVault.SenderNotAContract.selector));
        A.vault.transferWithMemo(address(token), 1, CHAIN_B, bob, t, hex"01");
        vm.stopPrank();

        HookSender sender = new HookSender(A.vault);
        token.mint(address(sender), 1);
        bytes memory memo = new bytes(1025);
        vm.expectRevert(abi.encodeWithSelector(TokenVault.MemoTooLarge.selector, 1025, 1024));
        sender.send(address(token), 1, CHAIN_B, bob, t, memo);

        vm.prank(bob); // no allowance, no balance
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(A.vault), 0, 1)
        );
        A.vault.transfer(address(token), 1, CHAIN_B, bob, t);
        // The Gateway's own checks surface too (a timeout in the past).
        vm.prank(alice);
        vm.expectRevert();
        A.vault.transfer(address(token), 1, CHAIN_B, bob, uint64(block.timestamp));
    }

    function test_transfer_voucherNeedsAllowance() public {
        _relay(_send(A, alice, address(token), 10e6, CHAIN_B, bob));
        Voucher v = _voucherAOn(B);
        vm.chainId(CHAIN_B);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(B.vault), 0, 1e6)
        );
        B.vault.transfer(address(v), 1e6, CHAIN_A, bob, uint64(block.timestamp + 100));
    }

    function test_setPeer_ownerOnlyAndNotSelf() public {
        vm.chainId(CHAIN_A);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        A.vault.setPeer(CHAIN_B, bytes32(uint256(1)));
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(TokenVault.InvalidPeerChain.selector, CHAIN_A));
        A.vault.setPeer(CHAIN_A, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(TokenVault.InvalidPeerChain.selector, 0));
        A.vault.setPeer(0, bytes32(uint256(1)));
        vm.expectEmit(true, false, false, true, address(A.vault));
        emit TokenVault.PeerSet(77, bytes32(uint256(5)));
        A.vault.setPeer(77, bytes32(uint256(5)));
        vm.stopPrank();
        vm.assertEq(A.vault.peers(77), bytes32(uint256(5)), "set");
    }

    // ---------------------------------------------------------------------------------------------------
    // Odd tokens
    // ---------------------------------------------------------------------------------------------------

    function test_feeOnTransferToken_locksWhatArrived() public {
        vm.chainId(CHAIN_A);
        FeeToken fee = new FeeToken(100); // 1%
        fee.mint(alice, 1000);
        Packet memory p = _send(A, alice, address(fee), 1000, CHAIN_B, bob);
        vm.chainId(CHAIN_A);
        vm.assertEq(A.vault.locked(address(fee)), 990, "locked what arrived");
        (,,, uint256 amount,,,,) =
            abi.decode(p.payload, (uint64, bytes32, uint8, uint256, bytes32, bytes32, bool, bytes));
        vm.assertEq(amount, 990, "and sent that");
        _relay(p);
        vm.chainId(CHAIN_B);
        vm.assertEq(IERC20Like(B.vault.voucherOf(CHAIN_A, address(fee))).balanceOf(bob), 990, "minted 990");
    }

    function test_feeOnTransferToken_allFeeIsZeroAmount() public {
        vm.chainId(CHAIN_A);
        FeeToken fee = new FeeToken(10_000); // everything is fee
        fee.mint(alice, 1000);
        vm.startPrank(alice);
        fee.approve(address(A.vault), 1000);
        vm.expectRevert(TokenVault.ZeroAmount.selector);
        A.vault.transfer(address(fee), 1000, CHAIN_B, bob, uint64(block.timestamp + 100));
        vm.stopPrank();
    }

    function test_decimalsFallBackTo18() public {
        vm.chainId(CHAIN_A);
        NoDecimalsToken nd = new NoDecimalsToken();
        nd.mint(alice, 10);
        HugeDecimalsToken hd = new HugeDecimalsToken();
        hd.mint(alice, 10);
        _relay(_send(A, alice, address(nd), 10, CHAIN_B, bob));
        _relay(_send(A, alice, address(hd), 10, CHAIN_B, bob));
        vm.chainId(CHAIN_B);
        vm.assertEq(Voucher(B.vault.voucherOf(CHAIN_A, address(nd))).decimals(), 18, "no decimals()");
        vm.assertEq(Voucher(B.vault.voucherOf(CHAIN_A, address(hd))).decimals(), 18, "decimals() out of range");
    }

    // ---------------------------------------------------------------------------------------------------
    // Voucher access control
    // ---------------------------------------------------------------------------------------------------

    function test_voucher_onlyVaultMintsBurnsAndInitializesOnce() public {
        _relay(_send(A, alice, address(token), 10e6, CHAIN_B, bob));
        Voucher v = _voucherAOn(B);
        vm.expectRevert(Voucher.OnlyVault.selector);
        v.mint(bob, 1);
        vm.expectRevert(Voucher.OnlyVault.selector);
        v.burnFrom(bob, 1);
        vm.expectRevert(Voucher.OnlyVault.selector);
        v.initialize(1, bytes32(0), 1);
        vm.prank(address(B.vault));
        vm.expectRevert(Voucher.AlreadyInitialized.selector);
        v.initialize(1, bytes32(0), 1);
        Voucher impl = Voucher(B.vault.voucherImplementation());
        vm.prank(address(B.vault));
        vm.expectRevert(Voucher.AlreadyInitialized.selector);
        impl.initialize(1, bytes32(0), 1);
    }

    // ---------------------------------------------------------------------------------------------------
    // Fuzz
    // ---------------------------------------------------------------------------------------------------

    /// Whatever the amounts, A -> B -> A conserves: locked == vouchers outstanding, nobody gains or loses.
    function testFuzz_roundTrip_conserves(uint256 amount, uint256 back) public {
        amount = bound(amount, 1, 1_000_000e6);
        back = bound(back, 1, amount);
        _relay(_send(A, alice, address(token), amount, CHAIN_B, bob));
        Voucher v = _voucherAOn(B);
        _relay(_send(B, bob, address(v), back, CHAIN_A, alice));
        vm.chainId(CHAIN_B);
        uint256 outstanding = v.totalSupply();
        vm.assertEq(outstanding, amount - back, "vouchers outstanding");
        vm.assertEq(v.balanceOf(bob), amount - back, "bob's");
        vm.chainId(CHAIN_A);
        vm.assertEq(A.vault.locked(address(token)), outstanding, "locked == outstanding");
        vm.assertEq(token.balanceOf(alice) + outstanding, 1_000_000e6, "alice + outstanding constant");
    }

    /// Delivered before the timeout, or refunded after it: never both, never neither.
    function testFuzz_timeoutOrDelivery(uint256 amount, uint64 elapsed) public {
        amount = bound(amount, 1, 1_000_000e6);
        elapsed = uint64(bound(elapsed, 0, 2 hours));
        Packet memory p = _send(A, alice, address(token), amount, CHAIN_B, bob);
        vm.warp(block.timestamp + elapsed);
        if (elapsed < 1 hours) {
            vm.assertTrue(_relay(p), "delivered in time");
        } else {
            _deliver_expectSkip(p);
            _timeout(p);
        }
        vm.chainId(CHAIN_B);
        address v = B.vault.voucherOf(CHAIN_A, address(token));
        uint256 minted = v.code.length == 0 ? 0 : Voucher(v).balanceOf(bob);
        vm.chainId(CHAIN_A);
        vm.assertEq(minted, elapsed < 1 hours ? amount : 0, "minted iff in time");
        vm.assertEq(token.balanceOf(alice) + minted, 1_000_000e6, "conserved");
        vm.assertEq(A.vault.locked(address(token)), minted, "locked == minted");
        vm.assertEq(A.gateway.commitments(p.sequence), bytes32(0), "settled");
    }

    function _deliver_expectSkip(Packet memory p) internal {
        vm.chainId(p.dstChain);
        Packet[] memory ps = new Packet[](1);
        ps[0] = p;
        bytes[] memory atts = new bytes[](1);
        atts[0] = _attest(B.gateway.deliveryDigest(keccak256(abi.encode(p))));
        B.gateway.deliver(ps, atts);
        vm.assertFalse(B.gateway.received(p.srcChain, p.sequence), "late packet skipped");
    }
}

interface IERC20Like {
    function approve(address, uint256) external returns (bool);
    function balanceOf(address) external view returns (uint256);
}
