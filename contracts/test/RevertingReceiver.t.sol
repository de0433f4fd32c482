// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Packet} from "../src/interfaces/IGateway.sol";
import {RevertingReceiver, TestTransferSender} from "../src/testing/RevertingReceiver.sol";
import {TestToken} from "../src/testing/TestToken.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice The contracts tests/e2e/e2e_revert.sh deploys: a memo transfer to a RevertingReceiver fails on
/// delivery and the TestTransferSender is refunded in full and told so.
contract RevertingReceiverTest is Fixture {
    TestToken internal token;
    TestTransferSender internal app;
    RevertingReceiver internal sink;

    function setUp() public {
        _setUpChains();
        vm.chainId(CHAIN_A);
        token = new TestToken("Test A", "TA", 18);
        app = new TestTransferSender(A.vault);
        token.mint(address(app), 3e18);
        vm.chainId(CHAIN_B);
        sink = new RevertingReceiver();
    }

    function test_memoTransferToRevertingReceiver_failsAndRefundsTheSender() public {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        app.send(address(token), 3e18, CHAIN_B, address(sink), uint64(block.timestamp + 1 hours), hex"01");
        Packet memory p = _sentPacket();
        vm.assertEq(token.balanceOf(address(app)), 0, "locked");
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "the receiver's revert fails the delivery");
        _ack(p, ok, result);
        vm.assertEq(token.balanceOf(address(app)), 3e18, "refunded in full");
        vm.assertEq(app.refunded(), 1, "told once");
        vm.assertEq(app.refundedAmount(), 3e18, "told the amount");
        vm.assertEq(app.delivered(), 0, "never delivered");
    }

    function test_onPacket_alwaysReverts() public {
        Packet memory p;
        vm.expectRevert(RevertingReceiver.AlwaysReverts.selector);
        sink.onPacket(p);
    }

    function test_hooks_onlyTheVault() public {
        vm.expectRevert(TestTransferSender.OnlyVault.selector);
        app.onTransferRefunded(1, address(token), 1);
        vm.expectRevert(TestTransferSender.OnlyVault.selector);
        app.onTransferDelivered(1);
    }
}
