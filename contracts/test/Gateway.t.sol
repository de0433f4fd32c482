// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {Gateway} from "../src/Gateway.sol";
import {Packet} from "../src/interfaces/IGateway.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {MockApp} from "./mocks/MockApp.sol";

contract GatewayTest is Fixture {
    MockApp internal appA; // on chain A
    MockApp internal appB; // on chain B

    function setUp() public {
        _setUpChains();
        vm.chainId(CHAIN_A);
        appA = new MockApp(A.gateway);
        vm.chainId(CHAIN_B);
        appB = new MockApp(B.gateway);
        vm.chainId(CHAIN_A);
    }

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    /// @dev appA sends `payload` to appB; returns the packet as rebuilt from the log.
    function _sendAB(bytes memory payload, uint64 timeoutTs) internal returns (Packet memory) {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        appA.send(CHAIN_B, _b32(address(appB)), timeoutTs, payload);
        return _sentPacket();
    }

    function _sendAB() internal returns (Packet memory) {
        return _sendAB(hex"c0ffee", uint64(block.timestamp + 1 hours));
    }

    function _copy(Packet memory p) internal pure returns (Packet memory) {
        return Packet(p.srcChain, p.dstChain, p.sequence, p.sender, p.receiver, p.timeoutTimestamp, p.payload);
    }

    function _one(Packet memory p) internal pure returns (Packet[] memory ps) {
        ps = new Packet[](1);
        ps[0] = p;
    }

    function _oneAtt(bytes memory a) internal pure returns (bytes[] memory as_) {
        as_ = new bytes[](1);
        as_[0] = a;
    }

    function _deliveryAtt(Packet memory p) internal view returns (bytes memory) {
        return _attest(B.gateway.deliveryDigest(keccak256(abi.encode(p))));
    }

    function _ackHash(Packet memory p, bool success, bytes memory result) internal view returns (bytes32) {
        return keccak256(
            abi.encode(A.gateway.ACKNOWLEDGEMENT_TYPEHASH(), keccak256(abi.encode(p)), success, keccak256(result))
        );
    }

    // ---------------------------------------------------------------------------------------------------
    // Construction and attester set
    // ---------------------------------------------------------------------------------------------------

    function test_constructor_setsAttestersThresholdAndGasLimit() public view {
        (address[] memory set, uint8 m, uint64 epoch) = A.gateway.attesters();
        vm.assertEq(set.length, 3, "three attesters");
        for (uint256 i; i < 3; ++i) {
            vm.assertEq(set[i], attesterAddrs[i], "attester order kept");
            vm.assertTrue(A.gateway.isAttester(set[i]), "isAttester");
        }
        vm.assertEq(m, THRESHOLD, "threshold");
        vm.assertEq(epoch, 1, "first epoch");
        vm.assertFalse(A.gateway.isAttester(address(this)), "stranger is no attester");
        vm.assertEq(A.gateway.receiveGasLimit(), A.gateway.DEFAULT_RECEIVE_GAS_LIMIT(), "default gas limit");
        vm.assertEq(A.gateway.owner(), owner, "owner");
        vm.assertEq(A.gateway.nextSequence(), 1, "sequences start at 1");
    }

    function test_constructor_rejectsBadAttesterSets() public {
        address[] memory empty = new address[](0);
        vm.expectRevert(Gateway.InvalidAttesterSet.selector);
        new Gateway(owner, empty, 1);

        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidThreshold.selector, 0, 3));
        new Gateway(owner, attesterAddrs, 0);

        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidThreshold.selector, 4, 3));
        new Gateway(owner, attesterAddrs, 4);

        address[] memory unsorted = new address[](2);
        unsorted[0] = attesterAddrs[1];
        unsorted[1] = attesterAddrs[0];
        vm.expectRevert(Gateway.InvalidAttesterSet.selector);
        new Gateway(owner, unsorted, 1);

        address[] memory dup = new address[](2);
        dup[0] = attesterAddrs[0];
        dup[1] = attesterAddrs[0];
        vm.expectRevert(Gateway.InvalidAttesterSet.selector);
        new Gateway(owner, dup, 1);

        address[] memory zero = new address[](1);
        vm.expectRevert(Gateway.InvalidAttesterSet.selector);
        new Gateway(owner, zero, 1);

        address[] memory many = new address[](33);
        for (uint256 i; i < 33; ++i) {
            many[i] = address(uint160(i + 1));
        }
        vm.expectRevert(Gateway.InvalidAttesterSet.selector);
        new Gateway(owner, many, 1);
    }

    function test_setAttesters_rotatesAndOldSignaturesStopCounting() public {
        Packet memory p = _sendAB();
        vm.chainId(CHAIN_B);
        bytes memory oldAtt = _deliveryAtt(p);

        // A fresh set of two keys, ordered by address.
        uint256[] memory nextKeys = new uint256[](2);
        (nextKeys[0], nextKeys[1]) = vm.addr(0x1111) < vm.addr(0x2222) ? (0x1111, 0x2222) : (0x2222, 0x1111);
        address[] memory next = new address[](2);
        (next[0], next[1]) = (vm.addr(nextKeys[0]), vm.addr(nextKeys[1]));
        vm.prank(owner);
        vm.expectEmit(true, false, false, true, address(B.gateway));
        emit Gateway.AttestersChanged(2, next, 2);
        B.gateway.setAttesters(next, 2);
        (, uint8 m, uint64 epoch) = B.gateway.attesters();
        vm.assertEq(epoch, 2, "epoch bumped");
        vm.assertEq(m, 2, "threshold");

        // The old set's attestation no longer counts.
        vm.expectPartialRevert(Gateway.NotAttester.selector);
        B.gateway.deliver(_one(p), _oneAtt(oldAtt));

        // The new set's does.
        bytes32 digest = B.gateway.deliveryDigest(keccak256(abi.encode(p)));
        bytes memory att = bytes.concat(_sign(nextKeys[0], digest), _sign(nextKeys[1], digest));
        B.gateway.deliver(_one(p), _oneAtt(att));
        vm.assertTrue(B.gateway.received(CHAIN_A, p.sequence), "delivered with the new set");
    }

    function test_setAttesters_onlyOwnerAndValidated() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        A.gateway.setAttesters(attesterAddrs, 1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidThreshold.selector, 0, 3));
        A.gateway.setAttesters(attesterAddrs, 0);
    }

    function test_setReceiveGasLimit_boundsOwnerAndEvent() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        A.gateway.setReceiveGasLimit(200_000);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidReceiveGasLimit.selector, 49_999));
        A.gateway.setReceiveGasLimit(49_999);
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidReceiveGasLimit.selector, 10_000_001));
        A.gateway.setReceiveGasLimit(10_000_001);
        vm.expectEmit(false, false, false, true, address(A.gateway));
        emit Gateway.ReceiveGasLimitChanged(200_000);
        A.gateway.setReceiveGasLimit(200_000);
        vm.stopPrank();
        vm.assertEq(A.gateway.receiveGasLimit(), 200_000, "set");
    }

    function test_ownership_isTwoStep() public {
        address next = address(0xBEEF);
        vm.prank(owner);
        A.gateway.transferOwnership(next);
        vm.assertEq(A.gateway.owner(), owner, "not yet");
        vm.prank(next);
        A.gateway.acceptOwnership();
        vm.assertEq(A.gateway.owner(), next, "accepted");
    }

    // ---------------------------------------------------------------------------------------------------
    // send
    // ---------------------------------------------------------------------------------------------------

    function test_send_commitsAndEmitsWholePacket() public {
        uint64 timeoutTs = uint64(block.timestamp + 600);
        Packet memory expected =
            Packet(CHAIN_A, CHAIN_B, 1, _b32(address(appA)), _b32(address(appB)), timeoutTs, hex"0102");
        bytes32 id = keccak256(abi.encode(expected));
        vm.expectEmit(true, true, true, true, address(A.gateway));
        emit Gateway.PacketSent(id, CHAIN_B, 1, expected.sender, expected.receiver, timeoutTs, hex"0102");
        uint64 seq = appA.send(CHAIN_B, _b32(address(appB)), timeoutTs, hex"0102");
        vm.assertEq(seq, 1, "first sequence");
        vm.assertEq(A.gateway.commitments(1), id, "commitment is the packetId");
        vm.assertEq(A.gateway.packetId(expected), id, "packetId view");
        uint64 seq2 = appA.send(CHAIN_B, _b32(address(appB)), timeoutTs, "");
        vm.assertEq(seq2, 2, "sequences increase");
        vm.assertEq(A.gateway.nextSequence(), 3, "next");
    }

    function test_send_rejectsBadArguments() public {
        uint64 t = uint64(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidDestination.selector, CHAIN_A));
        A.gateway.send(CHAIN_A, bytes32(uint256(1)), t, "");
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidDestination.selector, 0));
        A.gateway.send(0, bytes32(uint256(1)), t, "");
        vm.expectRevert(Gateway.ZeroReceiver.selector);
        A.gateway.send(CHAIN_B, bytes32(0), t, "");
        vm.expectRevert(
            abi.encodeWithSelector(Gateway.TimeoutNotInFuture.selector, uint64(block.timestamp), block.timestamp)
        );
        A.gateway.send(CHAIN_B, bytes32(uint256(1)), uint64(block.timestamp), "");
        bytes memory big = new bytes(16 * 1024 + 1);
        vm.expectRevert(abi.encodeWithSelector(Gateway.PayloadTooLarge.selector, big.length, 16 * 1024));
        A.gateway.send(CHAIN_B, bytes32(uint256(1)), t, big);
        // The maximum itself is fine.
        A.gateway.send(CHAIN_B, bytes32(uint256(1)), t, new bytes(16 * 1024));
    }

    function testFuzz_send_thenDeliver_carriesPayloadIntact(bytes calldata payload, uint64 timeoutOffset) public {
        vm.assume(payload.length <= 16 * 1024);
        timeoutOffset = uint64(bound(timeoutOffset, 1, 365 days));
        Packet memory p = _sendAB(payload, uint64(block.timestamp) + timeoutOffset);
        vm.assertEq(keccak256(p.payload), keccak256(payload), "log carries the payload");
        (bool ok,) = _deliver(p);
        vm.assertTrue(ok, "receiver succeeded");
        vm.assertEq(appB.lastPayloadHash(), keccak256(payload), "receiver got the payload");
        vm.assertEq(appB.lastSrcChain(), CHAIN_A, "receiver saw the source");
    }

    // ---------------------------------------------------------------------------------------------------
    // deliver
    // ---------------------------------------------------------------------------------------------------

    function test_deliver_callsReceiverRecordsAckAndEmits() public {
        Packet memory p = _sendAB();
        vm.chainId(CHAIN_B);
        bytes32 id = keccak256(abi.encode(p));
        vm.expectEmit(true, true, true, true, address(B.gateway));
        emit Gateway.PacketReceived(id, CHAIN_A, p.sequence, true, "");
        B.gateway.deliver(_one(p), _oneAtt(_deliveryAtt(p)));
        vm.assertEq(appB.packetsReceived(), 1, "receiver called once");
        vm.assertTrue(B.gateway.received(CHAIN_A, p.sequence), "received");
        vm.assertEq(B.gateway.receipt(CHAIN_A, p.sequence), _ackHash(p, true, ""), "receipt = hashStruct(ack)");
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence + 1), "others not received");
    }

    function test_deliver_skipsAlreadyReceivedWithoutReverting() public {
        Packet memory p = _sendAB();
        _deliver(p);
        vm.chainId(CHAIN_B);
        bytes32 id = keccak256(abi.encode(p));
        vm.expectEmit(true, true, true, true, address(B.gateway));
        emit Gateway.PacketSkipped(id, CHAIN_A, p.sequence, Gateway.SkipReason.AlreadyReceived);
        // A racing relayer's copy, even with a full attestation, changes nothing.
        B.gateway.deliver(_one(p), _oneAtt(_deliveryAtt(p)));
        vm.assertEq(appB.packetsReceived(), 1, "receiver not called twice");
    }

    function test_deliver_skipsTimedOutPacket() public {
        Packet memory p = _sendAB(hex"01", uint64(block.timestamp + 100));
        vm.chainId(CHAIN_B);
        bytes memory att = _deliveryAtt(p);
        vm.warp(block.timestamp + 100); // exactly the timeout: too late
        vm.expectEmit(true, true, true, true, address(B.gateway));
        emit Gateway.PacketSkipped(keccak256(abi.encode(p)), CHAIN_A, p.sequence, Gateway.SkipReason.TimedOut);
        B.gateway.deliver(_one(p), _oneAtt(att));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "not received");
        vm.assertEq(appB.packetsReceived(), 0, "receiver not called");
    }

    function test_deliver_batchLandsAroundSkippedPackets() public {
        Packet memory p1 = _sendAB(hex"01", uint64(block.timestamp + 1000));
        Packet memory p2 = _sendAB(hex"02", uint64(block.timestamp + 10));
        Packet memory p3 = _sendAB(hex"03", uint64(block.timestamp + 1000));
        _deliver(p1);
        vm.chainId(CHAIN_B);
        Packet[] memory ps = new Packet[](3);
        (ps[0], ps[1], ps[2]) = (p1, p2, p3);
        bytes[] memory atts = new bytes[](3);
        (atts[0], atts[1], atts[2]) = (_deliveryAtt(p1), _deliveryAtt(p2), _deliveryAtt(p3));
        vm.warp(block.timestamp + 10);
        B.gateway.deliver(ps, atts);
        vm.assertTrue(B.gateway.received(CHAIN_A, p3.sequence), "p3 landed");
        vm.assertFalse(B.gateway.received(CHAIN_A, p2.sequence), "p2 late");
        vm.assertEq(appB.packetsReceived(), 2, "p1 once, p3 once");
        vm.assertEq(appB.lastPayloadHash(), keccak256(hex"03"), "p3 last");
    }

    function test_deliver_rejectsMalformedBatches() public {
        Packet memory p = _sendAB();
        vm.chainId(CHAIN_B);
        vm.expectRevert(Gateway.EmptyBatch.selector);
        B.gateway.deliver(new Packet[](0), new bytes[](0));
        vm.expectRevert(abi.encodeWithSelector(Gateway.LengthMismatch.selector, 1, 2));
        B.gateway.deliver(_one(p), new bytes[](2));
        // Delivered to the wrong chain.
        vm.chainId(CHAIN_C);
        vm.expectRevert(abi.encodeWithSelector(Gateway.WrongDestination.selector, 0, CHAIN_B));
        C.gateway.deliver(_one(p), _oneAtt(""));
    }

    /// @dev A packet A -> B and its delivery digest; block.chainid is left at B.
    function _pendingDelivery() internal returns (Packet memory p, bytes32 digest) {
        p = _sendAB();
        vm.chainId(CHAIN_B);
        digest = B.gateway.deliveryDigest(keccak256(abi.encode(p)));
    }

    function test_deliver_rejectsMalformedAndShortAttestations() public {
        (Packet memory p, bytes32 digest) = _pendingDelivery();
        vm.expectRevert(abi.encodeWithSelector(Gateway.MalformedAttestation.selector, 64));
        B.gateway.deliver(_one(p), _oneAtt(new bytes(64)));
        vm.expectRevert(abi.encodeWithSelector(Gateway.NotEnoughSignatures.selector, 1, 2));
        B.gateway.deliver(_one(p), _oneAtt(_sign(attesterKeys[0], digest)));
        vm.expectRevert(abi.encodeWithSelector(Gateway.NotEnoughSignatures.selector, 0, 2));
        B.gateway.deliver(_one(p), _oneAtt(""));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "nothing delivered");
    }

    function test_deliver_rejectsUnorderedAndDuplicateSigners() public {
        (Packet memory p, bytes32 digest) = _pendingDelivery();
        bytes memory s0 = _sign(attesterKeys[0], digest);
        bytes memory s1 = _sign(attesterKeys[1], digest);
        vm.expectRevert(abi.encodeWithSelector(Gateway.SignersNotAscending.selector, 1));
        B.gateway.deliver(_one(p), _oneAtt(bytes.concat(s1, s0)));
        vm.expectRevert(abi.encodeWithSelector(Gateway.SignersNotAscending.selector, 1));
        B.gateway.deliver(_one(p), _oneAtt(bytes.concat(s0, s0)));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "nothing delivered");
    }

    function test_deliver_rejectsInvalidAndMalleableSignatures() public {
        (Packet memory p, bytes32 digest) = _pendingDelivery();
        bytes memory s0 = _sign(attesterKeys[0], digest);
        bytes memory s1 = _sign(attesterKeys[1], digest);
        bytes memory badV = bytes.concat(s0, s1);
        badV[129] = bytes1(uint8(29));
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidSignature.selector, 1));
        B.gateway.deliver(_one(p), _oneAtt(badV));
        // The malleable twin (s in the upper half order) of a valid signature.
        vm.expectRevert(abi.encodeWithSelector(Gateway.InvalidSignature.selector, 1));
        B.gateway.deliver(_one(p), _oneAtt(bytes.concat(s0, _malleate(s1))));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "nothing delivered");
    }

    function test_deliver_rejectsStrangers() public {
        (Packet memory p, bytes32 digest) = _pendingDelivery();
        bytes memory s0 = _sign(attesterKeys[0], digest);
        uint256 strangerKey = 0xBAD;
        address stranger = vm.addr(strangerKey);
        bytes memory ss = _sign(strangerKey, digest);
        bytes memory mixed = stranger < attesterAddrs[0] ? bytes.concat(ss, s0) : bytes.concat(s0, ss);
        vm.expectRevert(abi.encodeWithSelector(Gateway.NotAttester.selector, stranger));
        B.gateway.deliver(_one(p), _oneAtt(mixed));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "nothing delivered");
    }

    function test_deliver_rejectsSignaturesForOtherDomainsOrPackets() public {
        (Packet memory p, bytes32 digest) = _pendingDelivery();
        // Signatures for another Gateway's domain (chain C's) recover to other addresses.
        vm.chainId(CHAIN_C);
        bytes memory forC = _attest(C.gateway.deliveryDigest(keccak256(abi.encode(p))));
        vm.chainId(CHAIN_B);
        vm.expectRevert();
        B.gateway.deliver(_one(p), _oneAtt(forC));
        // A packet altered after signing.
        Packet memory q = _copy(p);
        q.payload = hex"bad0";
        bytes memory att = _attest(digest);
        vm.expectRevert();
        B.gateway.deliver(_one(q), _oneAtt(att));
        vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "nothing delivered");
        // More than the threshold is fine.
        B.gateway.deliver(_one(p), _oneAtt(_attestWith(digest, 3)));
        vm.assertTrue(B.gateway.received(CHAIN_A, p.sequence), "3 of 3 accepted");
    }

    function _malleate(bytes memory sig) internal pure returns (bytes memory out) {
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        out = bytes.concat(r, bytes32(n - uint256(s)), bytes1(v == 27 ? 28 : 27));
    }

    function test_deliver_revertingReceiverYieldsFailedAck() public {
        vm.chainId(CHAIN_B);
        appB.setMode(MockApp.Mode.Revert);
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "failed ack");
        vm.assertEq(result, abi.encodeWithSelector(MockApp.Refused.selector, p.sequence), "revert data kept");
        vm.assertTrue(B.gateway.received(CHAIN_A, p.sequence), "still received (once and for all)");
        vm.assertEq(B.gateway.receipt(CHAIN_A, p.sequence), _ackHash(p, false, result), "failed ack recorded");
    }

    function test_deliver_receiverOutOfGasYieldsFailedAck() public {
        vm.chainId(CHAIN_B);
        appB.setMode(MockApp.Mode.InfiniteLoop);
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "failed ack");
        vm.assertEq(result.length, 0, "no revert data");
    }

    function test_deliver_hugeReturnIsTruncated() public {
        vm.chainId(CHAIN_B);
        appB.setMode(MockApp.Mode.BigReturn);
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertTrue(ok, "success");
        vm.assertEq(result.length, 256, "truncated to MAX_RESULT_BYTES");
    }

    function test_deliver_reentrantDeliveryFailsOnlyThatReceiver() public {
        vm.chainId(CHAIN_B);
        appB.setMode(MockApp.Mode.Reenter);
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "failed ack");
        vm.assertEq(result, abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector), "guard");
        vm.assertEq(appB.packetsReceived(), 0, "no effect");
    }

    function test_deliver_receiverWithoutCodeYieldsFailedAck() public {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        appA.send(CHAIN_B, _b32(address(0xE0A)), uint64(block.timestamp + 100), "");
        Packet memory p = _sentPacket();
        (bool ok, bytes memory result) = _deliver(p);
        vm.assertFalse(ok, "EOA receiver fails");
        vm.assertEq(result, abi.encodeWithSelector(Gateway.ReceiverNotAContract.selector, p.receiver), "reason");

        vm.chainId(CHAIN_A);
        vm.recordLogs();
        bytes32 notAnAddress = bytes32(uint256(1) << 200);
        appA.send(CHAIN_B, notAnAddress, uint64(block.timestamp + 100), "");
        p = _sentPacket();
        (ok, result) = _deliver(p);
        vm.assertFalse(ok, "non-EVM receiver fails");
        vm.assertEq(result, abi.encodeWithSelector(Gateway.ReceiverNotAContract.selector, notAnAddress), "reason");
    }

    function test_deliver_receiverGetsExactlyTheGasLimit() public {
        vm.chainId(CHAIN_B);
        vm.prank(owner);
        B.gateway.setReceiveGasLimit(300_000);
        appB.setMode(MockApp.Mode.Burn);
        // The receiver's own bookkeeping (three fresh storage slots) comes on top of what it burns.
        appB.setBurnGas(200_000);
        Packet memory p = _sendAB();
        (bool ok,) = _deliver(p);
        vm.assertTrue(ok, "200k + bookkeeping fits in 300k");

        appB.setBurnGas(320_000);
        p = _sendAB();
        (ok,) = _deliver(p);
        vm.assertFalse(ok, "320k does not");
    }

    /// A relayer cannot starve the receiver into a failed acknowledgement: with any gas, either the batch
    /// reverts or the receiver ran with its full allowance and succeeded.
    function testFuzz_deliver_gasStarvationNeverFailsTheAck(uint256 gas) public {
        vm.chainId(CHAIN_B);
        vm.prank(owner);
        B.gateway.setReceiveGasLimit(300_000);
        appB.setMode(MockApp.Mode.Burn);
        appB.setBurnGas(200_000);
        Packet memory p = _sendAB();
        vm.chainId(CHAIN_B);
        bytes memory att = _deliveryAtt(p);
        gas = bound(gas, 50_000, 700_000);
        try B.gateway.deliver{gas: gas}(_one(p), _oneAtt(att)) {
            vm.assertEq(appB.packetsReceived(), 1, "delivered: the receiver ran to completion");
            vm.assertEq(B.gateway.receipt(CHAIN_A, p.sequence), _ackHash(p, true, ""), "success ack");
        } catch {
            vm.assertFalse(B.gateway.received(CHAIN_A, p.sequence), "reverted: nothing recorded");
        }
    }

    function test_deliver_insufficientGasRevertsWithNamedError() public {
        Packet memory p = _sendAB();
        vm.chainId(CHAIN_B);
        bytes memory att = _deliveryAtt(p);
        vm.expectPartialRevert(Gateway.InsufficientGasForReceiver.selector);
        B.gateway.deliver{gas: 500_000}(_one(p), _oneAtt(att));
    }

    function testFuzz_deliver_acceptedIffBeforeTimeout(uint64 timeoutOffset, uint64 elapsed) public {
        timeoutOffset = uint64(bound(timeoutOffset, 1, 30 days));
        elapsed = uint64(bound(elapsed, 0, 60 days));
        Packet memory p = _sendAB(hex"aa", uint64(block.timestamp) + timeoutOffset);
        vm.chainId(CHAIN_B);
        bytes memory att = _deliveryAtt(p);
        vm.warp(block.timestamp + elapsed);
        B.gateway.deliver(_one(p), _oneAtt(att));
        vm.assertEq(B.gateway.received(CHAIN_A, p.sequence), elapsed < timeoutOffset, "received iff before timeout");
    }

    // ---------------------------------------------------------------------------------------------------
    // receivedBatch
    // ---------------------------------------------------------------------------------------------------

    function _seqs(uint64 a, uint64 b, uint64 c, uint64 d, uint64 e) internal pure returns (uint64[] memory s) {
        s = new uint64[](5);
        (s[0], s[1], s[2], s[3], s[4]) = (a, b, c, d, e);
    }

    function test_receivedBatch_emptyIsZero() public {
        _deliver(_sendAB());
        vm.assertEq(B.gateway.receivedBatch(CHAIN_A, new uint64[](0)), 0, "no sequences, no bits");
    }

    function test_receivedBatch_mixedReceivedAndNot() public {
        Packet memory p1 = _sendAB();
        Packet memory p2 = _sendAB();
        Packet memory p3 = _sendAB();
        _deliver(p1);
        _deliver(p3);
        // p1, p2 (sent, not delivered), p3, p1 again, a sequence never sent
        uint64[] memory s = _seqs(p1.sequence, p2.sequence, p3.sequence, p1.sequence, 999);
        vm.assertEq(B.gateway.receivedBatch(CHAIN_A, s), (1 << 0) | (1 << 2) | (1 << 3), "bits 0, 2, 3");
        // The same sequences from another source chain were never received here.
        vm.assertEq(B.gateway.receivedBatch(CHAIN_C, s), 0, "other source: none");
    }

    function test_receivedBatch_256AndNoMore() public {
        Packet memory p = _sendAB();
        _deliver(p);
        uint64[] memory s = new uint64[](256);
        for (uint256 i; i < 256; ++i) {
            s[i] = p.sequence;
        }
        vm.assertEq(B.gateway.receivedBatch(CHAIN_A, s), type(uint256).max, "all 256 bits");
        for (uint256 i; i < 255; ++i) {
            s[i] = p.sequence + 1;
        }
        vm.assertEq(B.gateway.receivedBatch(CHAIN_A, s), uint256(1) << 255, "only the last: the top bit");
        uint64[] memory tooMany = new uint64[](257);
        vm.expectRevert(abi.encodeWithSelector(Gateway.TooManySequences.selector, 257, 256));
        B.gateway.receivedBatch(CHAIN_A, tooMany);
    }

    /// Any list of up to 256 sequences around a few delivered packets: bit i is received(src, s[i]),
    /// the bits past the list are zero.
    function testFuzz_receivedBatch_agreesWithReceived(uint64[] memory raw, uint8 deliverMask, bool otherSource)
        public
    {
        uint256 n = raw.length % 257;
        Packet[] memory sent = new Packet[](6);
        for (uint256 i; i < 6; ++i) {
            sent[i] = _sendAB();
            if (deliverMask & (1 << i) != 0) _deliver(sent[i]);
        }
        uint64 first = sent[0].sequence;
        uint64[] memory s = new uint64[](n);
        for (uint256 i; i < n; ++i) {
            // mostly around the sent sequences (both sides of them), sometimes anything
            s[i] = raw[i] % 4 == 0 ? raw[i] : first - 1 + uint64(raw[i] % 10);
        }
        uint64 src = otherSource ? CHAIN_C : CHAIN_A;
        uint256 bits = B.gateway.receivedBatch(src, s);
        for (uint256 i; i < n; ++i) {
            vm.assertEq((bits >> i) & 1 == 1, B.gateway.received(src, s[i]), "bit i = received(src, s[i])");
        }
        if (n < 256) vm.assertEq(bits >> n, 0, "no bits past the list");
    }

    // ---------------------------------------------------------------------------------------------------
    // acknowledge
    // ---------------------------------------------------------------------------------------------------

    function test_acknowledge_clearsCommitmentAndCallsApp() public {
        vm.chainId(CHAIN_B);
        appB.setMode(MockApp.Mode.Revert);
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.chainId(CHAIN_A);
        bytes32 id = keccak256(abi.encode(p));
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.PacketAcknowledged(id, p.sequence, false);
        _ack(p, ok, result);
        vm.assertEq(A.gateway.commitments(p.sequence), bytes32(0), "cleared");
        vm.assertEq(appA.acks(), 1, "onAck called");
        vm.assertFalse(appA.lastAckSuccess(), "with the failure");
        vm.assertEq(appA.lastAckResult(), result, "and the result");
    }

    function test_acknowledge_rejectsUnknownSettledAndForeignPackets() public {
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.chainId(CHAIN_A);
        bytes memory att = _attest(A.gateway.acknowledgementDigest(keccak256(abi.encode(p)), ok, result));

        Packet memory forged = _copy(p);
        forged.payload = hex"ff";
        vm.expectRevert(abi.encodeWithSelector(Gateway.PacketNotPending.selector, p.sequence));
        A.gateway.acknowledge(forged, ok, result, att);

        Packet memory unknown = _copy(p);
        unknown.sequence = 99;
        vm.expectRevert(abi.encodeWithSelector(Gateway.PacketNotPending.selector, 99));
        A.gateway.acknowledge(unknown, ok, result, att);

        vm.chainId(CHAIN_C);
        vm.expectRevert(abi.encodeWithSelector(Gateway.WrongSource.selector, CHAIN_A));
        C.gateway.acknowledge(p, ok, result, att);

        vm.chainId(CHAIN_A);
        A.gateway.acknowledge(p, ok, result, att);
        vm.expectRevert(abi.encodeWithSelector(Gateway.PacketNotPending.selector, p.sequence));
        A.gateway.acknowledge(p, ok, result, att);
        vm.assertEq(appA.acks(), 1, "acknowledged once");
    }

    function test_acknowledge_rejectsAttestationOfAnotherOutcome() public {
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        vm.chainId(CHAIN_A);
        bytes32 id = keccak256(abi.encode(p));
        // Signed for success; presented as failure (which would refund a delivered transfer).
        bytes memory att = _attest(A.gateway.acknowledgementDigest(id, ok, result));
        vm.expectRevert();
        A.gateway.acknowledge(p, !ok, result, att);
        // A delivery attestation is not an acknowledgement attestation.
        bytes memory wrongType = _attest(A.gateway.deliveryDigest(id));
        vm.expectRevert();
        A.gateway.acknowledge(p, ok, result, wrongType);
        vm.expectRevert(abi.encodeWithSelector(Gateway.NotEnoughSignatures.selector, 0, 2));
        A.gateway.acknowledge(p, ok, result, "");
        vm.assertEq(A.gateway.commitments(p.sequence), id, "still pending");
    }

    function test_acknowledge_revertingCallbackKeepsPacketPendingForRetry() public {
        Packet memory p = _sendAB();
        (bool ok, bytes memory result) = _deliver(p);
        appA.setRefuseCallbacks(true);
        vm.chainId(CHAIN_A);
        bytes memory att = _attest(A.gateway.acknowledgementDigest(keccak256(abi.encode(p)), ok, result));
        vm.expectRevert(MockApp.CallbackRefused.selector);
        A.gateway.acknowledge(p, ok, result, att);
        vm.assertEq(A.gateway.commitments(p.sequence), keccak256(abi.encode(p)), "still pending");
        appA.setRefuseCallbacks(false);
        A.gateway.acknowledge(p, ok, result, att);
        vm.assertEq(appA.acks(), 1, "retry worked");
    }

    function test_acknowledge_senderWithoutCodeIsNotCalled() public {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        vm.prank(address(0xE0A));
        A.gateway.send(CHAIN_B, _b32(address(appB)), uint64(block.timestamp + 100), hex"01");
        Packet memory p = _sentPacket();
        vm.assertEq(p.sender, _b32(address(0xE0A)), "sender is the caller");
        _relay(p);
        vm.chainId(CHAIN_A);
        vm.assertEq(A.gateway.commitments(p.sequence), bytes32(0), "settled");
    }

    // ---------------------------------------------------------------------------------------------------
    // acknowledgeBatch
    // ---------------------------------------------------------------------------------------------------

    struct AckBatch {
        Packet[] ps;
        bool[] oks;
        bytes[] results;
        bytes[] atts;
    }

    /// @dev n packets A -> B, each delivered on B, with their acknowledgements attested for A.
    function _ackBatch(uint256 n) internal returns (AckBatch memory b) {
        b.ps = new Packet[](n);
        b.oks = new bool[](n);
        b.results = new bytes[](n);
        b.atts = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            b.ps[i] = _sendAB(abi.encodePacked(uint8(i)), uint64(block.timestamp + 1 hours));
            (b.oks[i], b.results[i]) = _deliver(b.ps[i]);
        }
        vm.chainId(CHAIN_A);
        for (uint256 i; i < n; ++i) {
            b.atts[i] = _attest(A.gateway.acknowledgementDigest(keccak256(abi.encode(b.ps[i])), b.oks[i], b.results[i]));
        }
    }

    function test_acknowledgeBatch_settlesEachPacketOnce() public {
        AckBatch memory b = _ackBatch(3);
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(true, true, false, true, address(A.gateway));
            emit Gateway.PacketAcknowledged(keccak256(abi.encode(b.ps[i])), b.ps[i].sequence, b.oks[i]);
        }
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        for (uint256 i; i < 3; ++i) {
            vm.assertEq(A.gateway.commitments(b.ps[i].sequence), bytes32(0), "cleared");
        }
        vm.assertEq(appA.acks(), 3, "onAck once per packet");
    }

    function test_acknowledgeBatch_skipsSettledAndRepeatedPackets() public {
        AckBatch memory b = _ackBatch(3);
        // Another relayer settled the middle one first.
        A.gateway.acknowledge(b.ps[1], b.oks[1], b.results[1], b.atts[1]);
        vm.assertEq(appA.acks(), 1, "one ack so far");
        // The batch carries it again, and repeats the first packet at the end.
        AckBatch memory c;
        c.ps = new Packet[](4);
        c.oks = new bool[](4);
        c.results = new bytes[](4);
        c.atts = new bytes[](4);
        for (uint256 i; i < 4; ++i) {
            uint256 k = i == 3 ? 0 : i;
            (c.ps[i], c.oks[i], c.results[i], c.atts[i]) = (b.ps[k], b.oks[k], b.results[k], b.atts[k]);
        }
        bytes32 id1 = keccak256(abi.encode(b.ps[1]));
        bytes32 id0 = keccak256(abi.encode(b.ps[0]));
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.PacketAcknowledged(id0, b.ps[0].sequence, b.oks[0]);
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.AcknowledgementSkipped(id1, b.ps[1].sequence);
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.PacketAcknowledged(keccak256(abi.encode(b.ps[2])), b.ps[2].sequence, b.oks[2]);
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.AcknowledgementSkipped(id0, b.ps[0].sequence);
        A.gateway.acknowledgeBatch(c.ps, c.oks, c.results, c.atts);
        vm.assertEq(appA.acks(), 3, "each packet acknowledged exactly once");
        // A batch of only settled packets changes nothing and does not revert.
        A.gateway.acknowledgeBatch(c.ps, c.oks, c.results, c.atts);
        vm.assertEq(appA.acks(), 3, "nothing twice");
    }

    function test_acknowledgeBatch_badAttestationRevertsTheBatch() public {
        AckBatch memory b = _ackBatch(3);
        // Packet 2's attestation claims the other outcome (a refund of a delivered transfer).
        b.oks[2] = !b.oks[2];
        vm.expectRevert();
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        b.oks[2] = !b.oks[2];
        b.atts[1] = "";
        vm.expectRevert(abi.encodeWithSelector(Gateway.NotEnoughSignatures.selector, 0, 2));
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        for (uint256 i; i < 3; ++i) {
            vm.assertEq(A.gateway.commitments(b.ps[i].sequence), keccak256(abi.encode(b.ps[i])), "all pending");
        }
        vm.assertEq(appA.acks(), 0, "no onAck ran");
    }

    function test_acknowledgeBatch_revertingCallbackRevertsTheBatchLikeASingleAck() public {
        AckBatch memory b = _ackBatch(2);
        appA.setRefuseCallbacks(true);
        vm.expectRevert(MockApp.CallbackRefused.selector);
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        for (uint256 i; i < 2; ++i) {
            vm.assertEq(A.gateway.commitments(b.ps[i].sequence), keccak256(abi.encode(b.ps[i])), "still pending");
        }
        appA.setRefuseCallbacks(false);
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        vm.assertEq(appA.acks(), 2, "the retry settles both");
    }

    function test_acknowledgeBatch_rejectsMalformedBatches() public {
        AckBatch memory b = _ackBatch(2);
        vm.expectRevert(Gateway.EmptyBatch.selector);
        A.gateway.acknowledgeBatch(new Packet[](0), new bool[](0), new bytes[](0), new bytes[](0));
        vm.expectRevert(abi.encodeWithSelector(Gateway.LengthMismatch.selector, 2, 1));
        A.gateway.acknowledgeBatch(b.ps, new bool[](1), b.results, b.atts);
        vm.expectRevert(abi.encodeWithSelector(Gateway.LengthMismatch.selector, 2, 3));
        A.gateway.acknowledgeBatch(b.ps, b.oks, new bytes[](3), b.atts);
        vm.expectRevert(abi.encodeWithSelector(Gateway.LengthMismatch.selector, 2, 0));
        A.gateway.acknowledgeBatch(b.ps, b.oks, b.results, new bytes[](0));
        vm.chainId(CHAIN_C);
        vm.expectRevert(abi.encodeWithSelector(Gateway.WrongSource.selector, CHAIN_A));
        C.gateway.acknowledgeBatch(b.ps, b.oks, b.results, b.atts);
        vm.chainId(CHAIN_A);
        vm.assertEq(appA.acks(), 0, "nothing settled");
    }

    // ---------------------------------------------------------------------------------------------------
    // timeout
    // ---------------------------------------------------------------------------------------------------

    function test_timeout_clearsCommitmentAndCallsApp() public {
        Packet memory p = _sendAB(hex"01", uint64(block.timestamp + 50));
        vm.warp(block.timestamp + 50);
        vm.chainId(CHAIN_A);
        vm.expectEmit(true, true, false, true, address(A.gateway));
        emit Gateway.PacketTimedOut(keccak256(abi.encode(p)), p.sequence, uint64(block.timestamp));
        _timeout(p);
        vm.assertEq(A.gateway.commitments(p.sequence), bytes32(0), "cleared");
        vm.assertEq(appA.timeouts(), 1, "onTimeout called");
        vm.assertEq(appA.lastSettledSequence(), p.sequence, "for that packet");
    }

    function test_timeout_rejectsEarlyForeignSettledAndBadAttestations() public {
        Packet memory p = _sendAB(hex"01", uint64(block.timestamp + 50));
        bytes32 id = keccak256(abi.encode(p));
        vm.chainId(CHAIN_A);
        uint64 early = p.timeoutTimestamp - 1;
        bytes memory att = _attest(A.gateway.timeoutDigest(id, early));
        vm.expectRevert(abi.encodeWithSelector(Gateway.TimeoutNotReached.selector, early, p.timeoutTimestamp));
        A.gateway.timeout(p, early, att);

        uint64 late = p.timeoutTimestamp;
        att = _attest(A.gateway.timeoutDigest(id, late));
        // The attestation is for `late`; presenting another timestamp breaks it.
        vm.expectRevert();
        A.gateway.timeout(p, late + 1, att);

        vm.chainId(CHAIN_C);
        vm.expectRevert(abi.encodeWithSelector(Gateway.WrongSource.selector, CHAIN_A));
        C.gateway.timeout(p, late, att);

        vm.chainId(CHAIN_A);
        A.gateway.timeout(p, late, att);
        vm.expectRevert(abi.encodeWithSelector(Gateway.PacketNotPending.selector, p.sequence));
        A.gateway.timeout(p, late, att);
    }

    function test_timeout_impossibleAfterAcknowledgement() public {
        Packet memory p = _sendAB(hex"01", uint64(block.timestamp + 50));
        _relay(p);
        vm.warp(block.timestamp + 50);
        vm.chainId(CHAIN_A);
        uint64 ts = uint64(block.timestamp);
        bytes memory att = _attest(A.gateway.timeoutDigest(keccak256(abi.encode(p)), ts));
        vm.expectRevert(abi.encodeWithSelector(Gateway.PacketNotPending.selector, p.sequence));
        A.gateway.timeout(p, ts, att);
        vm.assertEq(appA.timeouts(), 0, "no timeout callback");
        vm.assertEq(appA.acks(), 1, "acknowledged");
    }

    function test_timeout_revertingCallbackKeepsPacketPending() public {
        Packet memory p = _sendAB(hex"01", uint64(block.timestamp + 50));
        vm.warp(block.timestamp + 60);
        appA.setRefuseCallbacks(true);
        vm.chainId(CHAIN_A);
        uint64 ts = uint64(block.timestamp);
        bytes memory att = _attest(A.gateway.timeoutDigest(keccak256(abi.encode(p)), ts));
        vm.expectRevert(MockApp.CallbackRefused.selector);
        A.gateway.timeout(p, ts, att);
        vm.assertEq(A.gateway.commitments(p.sequence), keccak256(abi.encode(p)), "still pending");
    }
}
