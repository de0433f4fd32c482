// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IGateway, IPacketReceiver, IPacketSender, Packet} from "./interfaces/IGateway.sol";
import {BoundedCall} from "./libraries/BoundedCall.sol";

/// @title Gateway
/// @notice One per chain. Carries packets between chains with IBC semantics (send, receive, acknowledge,
/// timeout); the other chain's state is vouched for by an m-of-n attester set signing EIP-712 digests instead
/// of a light client. docs/protocol.md is the byte-exact description.
contract Gateway is IGateway, EIP712, Ownable2Step, ReentrancyGuard {
    /// @notice Attesters sign this for the destination Gateway: "the packet was committed on its source chain".
    bytes32 public constant DELIVERY_TYPEHASH = keccak256("Delivery(bytes32 packetId)");
    /// @notice Attesters sign this for the source Gateway: "the destination recorded this acknowledgement".
    bytes32 public constant ACKNOWLEDGEMENT_TYPEHASH =
        keccak256("Acknowledgement(bytes32 packetId,bool success,bytes result)");
    /// @notice Attesters sign this for the source Gateway: "at a destination block with timestamp
    /// destinationTimestamp the packet had not been received".
    bytes32 public constant TIMEOUT_TYPEHASH = keccak256("Timeout(bytes32 packetId,uint64 destinationTimestamp)");

    uint256 public constant MAX_ATTESTERS = 32;
    uint256 public constant MAX_PAYLOAD_BYTES = 16 * 1024;
    /// @notice Longest acknowledgement result kept (return or revert data of the receiver, truncated).
    uint256 public constant MAX_RESULT_BYTES = 256;
    uint32 public constant MIN_RECEIVE_GAS_LIMIT = 50_000;
    uint32 public constant MAX_RECEIVE_GAS_LIMIT = 10_000_000;
    uint32 public constant DEFAULT_RECEIVE_GAS_LIMIT = 1_000_000;
    /// @notice Most sequences one `receivedBatch` call answers: one bit each in a uint256.
    uint256 public constant MAX_RECEIVED_BATCH = 256;
    /// @dev Gas the CALL itself may cost on top of what it forwards (cold account access, a few opcodes).
    uint256 private constant CALL_OVERHEAD = 5_000;
    /// @dev Stored while the receiver runs, so a re-entrant delivery of the same packet is skipped.
    bytes32 private constant RECEIPT_PENDING = bytes32(uint256(1));

    /// @notice Why `deliver` passed over a packet without reverting.
    enum SkipReason {
        None,
        AlreadyReceived, // another relayer (or an earlier batch) delivered it
        TimedOut // block.timestamp >= timeoutTimestamp: it can only be timed out on the source now
    }

    // One slot: read once per deliver batch.
    uint64 public nextSequence = 1;
    uint64 public attesterEpoch;
    uint8 public threshold;
    uint32 public receiveGasLimit;

    address[] private _attesters;
    mapping(uint64 epoch => mapping(address account => bool)) private _isAttester;
    /// @notice packetId of every packet sent from here and neither acknowledged nor timed out yet.
    mapping(uint64 sequence => bytes32 packetId) public commitments;
    /// @dev hashStruct(Acknowledgement) of every received packet (RECEIPT_PENDING while its receiver runs).
    mapping(uint64 srcChain => mapping(uint64 sequence => bytes32 ackHash)) private _receipts;

    /// @notice A packet was committed. The log carries the whole packet (srcChain is this chain).
    event PacketSent(
        bytes32 indexed packetId,
        uint64 indexed dstChain,
        uint64 indexed sequence,
        bytes32 sender,
        bytes32 receiver,
        uint64 timeoutTimestamp,
        bytes payload
    );
    /// @notice A packet was received and its receiver called; (success, result) is the acknowledgement.
    event PacketReceived(
        bytes32 indexed packetId, uint64 indexed srcChain, uint64 indexed sequence, bool success, bytes result
    );
    /// @notice `deliver` passed over a packet. Not authenticated (no signature is checked before skipping):
    /// only PacketReceived proves a delivery.
    event PacketSkipped(bytes32 indexed packetId, uint64 indexed srcChain, uint64 indexed sequence, SkipReason reason);
    event PacketAcknowledged(bytes32 indexed packetId, uint64 indexed sequence, bool success);
    /// @notice `acknowledgeBatch` passed over a packet that is not pending (settled already, by an earlier
    /// batch, another relayer or a repeat within this batch; or never sent as given). Not authenticated.
    event AcknowledgementSkipped(bytes32 indexed packetId, uint64 indexed sequence);
    event PacketTimedOut(bytes32 indexed packetId, uint64 indexed sequence, uint64 destinationTimestamp);
    event AttestersChanged(uint64 indexed epoch, address[] attesters, uint8 threshold);
    event ReceiveGasLimitChanged(uint32 gasLimit);

    error InvalidDestination(uint64 dstChain);
    error ZeroReceiver();
    error TimeoutNotInFuture(uint64 timeoutTimestamp, uint256 blockTimestamp);
    error PayloadTooLarge(uint256 length, uint256 max);
    error EmptyBatch();
    error LengthMismatch(uint256 packets, uint256 attestations);
    error WrongDestination(uint256 index, uint64 dstChain);
    error WrongSource(uint64 srcChain);
    error PacketNotPending(uint64 sequence);
    error TimeoutNotReached(uint64 destinationTimestamp, uint64 timeoutTimestamp);
    error InsufficientGasForReceiver(uint256 gasLeft, uint256 needed);
    error MalformedAttestation(uint256 length);
    error NotEnoughSignatures(uint256 count, uint256 threshold);
    error InvalidSignature(uint256 index);
    error SignersNotAscending(uint256 index);
    error NotAttester(address signer);
    error InvalidAttesterSet();
    error InvalidThreshold(uint256 threshold, uint256 attesters);
    error InvalidReceiveGasLimit(uint32 gasLimit);
    error ReceiverNotAContract(bytes32 receiver);
    error TooManySequences(uint256 length, uint256 max);

    /// @param owner_ may rotate the attester set and set the receive gas limit.
    /// @param attesters_ strictly ascending, non-zero, at most MAX_ATTESTERS.
    /// @param threshold_ signatures needed, 1 <= threshold_ <= attesters_.length.
    constructor(address owner_, address[] memory attesters_, uint8 threshold_)
        EIP712("Ferry Gateway", "1")
        Ownable(owner_)
    {
        _setAttesters(attesters_, threshold_);
        _setReceiveGasLimit(DEFAULT_RECEIVE_GAS_LIMIT);
    }

    // ---------------------------------------------------------------------------------------------------
    // Source side
    // ---------------------------------------------------------------------------------------------------

    /// @notice Commits a packet to `dstChain`; the caller is its sender and gets onAck/onTimeout later
    /// (if it is a contract). Not behind the reentrancy guard: applications may send from their callbacks.
    /// @param dstChain destination chain id (not this chain).
    /// @param receiver the contract on `dstChain` whose onPacket is called.
    /// @param timeoutTimestamp the destination refuses the packet once its block.timestamp reaches this.
    /// @param payload application bytes, at most MAX_PAYLOAD_BYTES.
    /// @return sequence the packet's sequence on this Gateway (1, 2, 3, ...).
    function send(uint64 dstChain, bytes32 receiver, uint64 timeoutTimestamp, bytes calldata payload)
        external
        returns (uint64 sequence)
    {
        uint64 here = uint64(block.chainid);
        if (dstChain == here || dstChain == 0) revert InvalidDestination(dstChain);
        if (receiver == bytes32(0)) revert ZeroReceiver();
        if (timeoutTimestamp <= block.timestamp) revert TimeoutNotInFuture(timeoutTimestamp, block.timestamp);
        if (payload.length > MAX_PAYLOAD_BYTES) revert PayloadTooLarge(payload.length, MAX_PAYLOAD_BYTES);

        sequence = nextSequence++;
        bytes32 sender = bytes32(uint256(uint160(msg.sender)));
        bytes32 id =
            keccak256(abi.encode(Packet(here, dstChain, sequence, sender, receiver, timeoutTimestamp, payload)));
        commitments[sequence] = id;
        emit PacketSent(id, dstChain, sequence, sender, receiver, timeoutTimestamp, payload);
    }

    /// @notice Settles a packet sent from here with the acknowledgement the destination recorded: clears the
    /// commitment and calls the sender's onAck. Reverts if the packet is not pending (already settled).
    /// @param attestation threshold signatures over the Acknowledgement digest of this Gateway's domain.
    function acknowledge(Packet calldata packet, bool success, bytes calldata result, bytes calldata attestation)
        external
        nonReentrant
    {
        _acknowledge(_pendingPacketId(packet), packet, success, result, attestation);
    }

    /// @notice `acknowledge` for many packets in one transaction: packets[i] with (success[i], results[i]) and
    /// attestations[i]. A packet that is not pending any more (already settled, or repeated in the batch) is
    /// skipped with `AcknowledgementSkipped` rather than reverting the batch, so a racing relayer cannot sink
    /// it. Everything else is as for `acknowledge` and reverts the whole batch: a wrong source chain, a bad
    /// attestation, and an `onAck` that reverts (the packet must stay pending, exactly as with a single ack;
    /// the relayer retries the others without it).
    function acknowledgeBatch(
        Packet[] calldata packets,
        bool[] calldata success,
        bytes[] calldata results,
        bytes[] calldata attestations
    ) external nonReentrant {
        uint256 n = packets.length;
        if (n == 0) revert EmptyBatch();
        if (success.length != n) revert LengthMismatch(n, success.length);
        if (results.length != n) revert LengthMismatch(n, results.length);
        if (attestations.length != n) revert LengthMismatch(n, attestations.length);
        uint64 here = uint64(block.chainid);
        for (uint256 i; i < n; ++i) {
            Packet calldata p = packets[i];
            if (p.srcChain != here) revert WrongSource(p.srcChain);
            bytes32 id = keccak256(abi.encode(p));
            if (commitments[p.sequence] != id) {
                emit AcknowledgementSkipped(id, p.sequence);
                continue;
            }
            _acknowledge(id, p, success[i], results[i], attestations[i]);
        }
    }

    /// @dev Settles pending packet `id`: checks the attestation, clears the commitment, then calls onAck
    /// (a revert there reverts the caller's whole transaction).
    function _acknowledge(
        bytes32 id,
        Packet calldata packet,
        bool success,
        bytes calldata result,
        bytes calldata attestation
    ) private {
        bytes32 structHash = keccak256(abi.encode(ACKNOWLEDGEMENT_TYPEHASH, id, success, keccak256(result)));
        _verify(_hashTypedDataV4(structHash), attestation);

        delete commitments[packet.sequence];
        emit PacketAcknowledged(id, packet.sequence, success);
        address app = address(uint160(uint256(packet.sender)));
        if (app.code.length != 0) IPacketSender(app).onAck(packet, success, result);
    }

    /// @notice Settles a packet sent from here that the destination can no longer receive: clears the
    /// commitment and calls the sender's onTimeout. Safe because `deliver` refuses packets at or after their
    /// timeout and block timestamps never decrease.
    /// @param destinationTimestamp timestamp of the destination block at which the attesters saw the packet
    /// not received; must be >= packet.timeoutTimestamp.
    /// @param attestation threshold signatures over the Timeout digest of this Gateway's domain.
    function timeout(Packet calldata packet, uint64 destinationTimestamp, bytes calldata attestation)
        external
        nonReentrant
    {
        bytes32 id = _pendingPacketId(packet);
        if (destinationTimestamp < packet.timeoutTimestamp) {
            revert TimeoutNotReached(destinationTimestamp, packet.timeoutTimestamp);
        }
        _verify(_hashTypedDataV4(keccak256(abi.encode(TIMEOUT_TYPEHASH, id, destinationTimestamp))), attestation);

        delete commitments[packet.sequence];
        emit PacketTimedOut(id, packet.sequence, destinationTimestamp);
        address app = address(uint160(uint256(packet.sender)));
        if (app.code.length != 0) IPacketSender(app).onTimeout(packet);
    }

    // ---------------------------------------------------------------------------------------------------
    // Destination side
    // ---------------------------------------------------------------------------------------------------

    /// @notice Receives a batch of packets, each with its own attestation. For each packet: checks the
    /// destination, skips it (event, no revert) if already received or timed out, checks the attestation,
    /// marks it received, calls the receiver with `receiveGasLimit` gas and records the acknowledgement.
    /// A receiver that reverts or runs out of gas yields a failed acknowledgement, never a reverted batch.
    /// @param attestations attestations[i] holds threshold signatures over packets[i]'s Delivery digest.
    function deliver(Packet[] calldata packets, bytes[] calldata attestations) external nonReentrant {
        uint256 n = packets.length;
        if (n == 0) revert EmptyBatch();
        if (n != attestations.length) revert LengthMismatch(n, attestations.length);
        uint64 here = uint64(block.chainid);
        for (uint256 i; i < n; ++i) {
            Packet calldata p = packets[i];
            if (p.dstChain != here) revert WrongDestination(i, p.dstChain);
            bytes32 id = keccak256(abi.encode(p));
            if (_receipts[p.srcChain][p.sequence] != bytes32(0)) {
                emit PacketSkipped(id, p.srcChain, p.sequence, SkipReason.AlreadyReceived);
                continue;
            }
            if (block.timestamp >= p.timeoutTimestamp) {
                emit PacketSkipped(id, p.srcChain, p.sequence, SkipReason.TimedOut);
                continue;
            }
            _verify(_hashTypedDataV4(keccak256(abi.encode(DELIVERY_TYPEHASH, id))), attestations[i]);

            _receipts[p.srcChain][p.sequence] = RECEIPT_PENDING;
            (bool success, bytes memory result) = _callReceiver(p);
            _receipts[p.srcChain][p.sequence] =
                keccak256(abi.encode(ACKNOWLEDGEMENT_TYPEHASH, id, success, keccak256(result)));
            emit PacketReceived(id, p.srcChain, p.sequence, success, result);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------------

    /// @notice True once (srcChain, sequence) has been received here, whatever its acknowledgement.
    function received(uint64 srcChain, uint64 sequence) external view returns (bool) {
        return _receipts[srcChain][sequence] != bytes32(0);
    }

    /// @notice `received(srcChain, sequences[i])` for each i, as bit i of `bits` (bit 0 the least significant);
    /// the bits past sequences.length are zero. A relayer checks a whole delivery batch in one call and
    /// decodes one word. At most MAX_RECEIVED_BATCH sequences (TooManySequences): split longer lists.
    function receivedBatch(uint64 srcChain, uint64[] calldata sequences) external view returns (uint256 bits) {
        uint256 n = sequences.length;
        if (n > MAX_RECEIVED_BATCH) revert TooManySequences(n, MAX_RECEIVED_BATCH);
        mapping(uint64 => bytes32) storage receipts = _receipts[srcChain];
        for (uint256 i; i < n; ++i) {
            if (receipts[sequences[i]] != bytes32(0)) bits |= uint256(1) << i;
        }
    }

    /// @notice hashStruct(Acknowledgement) recorded for (srcChain, sequence); zero if not received.
    /// Attesters compare it with the (success, result) of the PacketReceived log before signing.
    function receipt(uint64 srcChain, uint64 sequence) external view returns (bytes32) {
        return _receipts[srcChain][sequence];
    }

    /// @notice The current attester set (ascending), threshold and epoch.
    function attesters() external view returns (address[] memory set, uint8 threshold_, uint64 epoch) {
        return (_attesters, threshold, attesterEpoch);
    }

    function isAttester(address account) external view returns (bool) {
        return _isAttester[attesterEpoch][account];
    }

    /// @notice keccak256(abi.encode(packet)).
    function packetId(Packet calldata packet) external pure returns (bytes32) {
        return keccak256(abi.encode(packet));
    }

    /// @notice This Gateway's EIP-712 domain separator (name "Ferry Gateway", version "1").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The digests attesters sign, for cross-checking an off-chain implementation.
    function deliveryDigest(bytes32 id) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(DELIVERY_TYPEHASH, id)));
    }

    function acknowledgementDigest(bytes32 id, bool success, bytes calldata result) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ACKNOWLEDGEMENT_TYPEHASH, id, success, keccak256(result))));
    }

    function timeoutDigest(bytes32 id, uint64 destinationTimestamp) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(TIMEOUT_TYPEHASH, id, destinationTimestamp)));
    }

    // ---------------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------------

    /// @notice Replaces the attester set. Signatures by removed attesters stop counting at once.
    function setAttesters(address[] calldata attesters_, uint8 threshold_) external onlyOwner {
        _setAttesters(attesters_, threshold_);
    }

    /// @notice Gas each receiver gets in `deliver` (a relayer must leave at least this much per packet).
    function setReceiveGasLimit(uint32 gasLimit) external onlyOwner {
        _setReceiveGasLimit(gasLimit);
    }

    // ---------------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------------

    function _pendingPacketId(Packet calldata packet) private view returns (bytes32 id) {
        if (packet.srcChain != uint64(block.chainid)) revert WrongSource(packet.srcChain);
        id = keccak256(abi.encode(packet));
        if (commitments[packet.sequence] != id) revert PacketNotPending(packet.sequence);
    }

    /// @dev The receiver runs with exactly receiveGasLimit gas: the floor check makes sure the relayer left
    /// enough that the 63/64 rule cannot shrink it, so running out is the receiver's own doing.
    function _callReceiver(Packet calldata p) private returns (bool, bytes memory) {
        if (uint256(p.receiver) >> 160 != 0) {
            return (false, abi.encodeWithSelector(ReceiverNotAContract.selector, p.receiver));
        }
        address receiver = address(uint160(uint256(p.receiver)));
        if (receiver.code.length == 0) {
            return (false, abi.encodeWithSelector(ReceiverNotAContract.selector, p.receiver));
        }
        bytes memory data = abi.encodeCall(IPacketReceiver.onPacket, (p));
        uint256 limit = receiveGasLimit;
        uint256 needed = limit + limit / 63 + CALL_OVERHEAD;
        if (gasleft() < needed) revert InsufficientGasForReceiver(gasleft(), needed);
        return BoundedCall.call(receiver, limit, data, MAX_RESULT_BYTES);
    }

    /// @dev `attestation` is a concatenation of 65-byte signatures (r, s, v with v in {27, 28}, s in the
    /// lower half order) whose signers are current attesters in strictly ascending order; at least
    /// `threshold` of them.
    function _verify(bytes32 digest, bytes calldata attestation) private view {
        uint256 len = attestation.length;
        if (len % 65 != 0) revert MalformedAttestation(len);
        uint256 count = len / 65;
        uint256 m = threshold;
        if (count < m) revert NotEnoughSignatures(count, m);
        uint64 epoch = attesterEpoch;
        address last;
        for (uint256 k; k < count; ++k) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let o := add(attestation.offset, mul(k, 65))
                r := calldataload(o)
                s := calldataload(add(o, 32))
                v := byte(0, calldataload(add(o, 64)))
            }
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(k);
            if (signer <= last) revert SignersNotAscending(k);
            if (!_isAttester[epoch][signer]) revert NotAttester(signer);
            last = signer;
        }
    }

    function _setAttesters(address[] memory set, uint8 threshold_) private {
        uint256 n = set.length;
        if (n == 0 || n > MAX_ATTESTERS) revert InvalidAttesterSet();
        if (threshold_ == 0 || threshold_ > n) revert InvalidThreshold(threshold_, n);
        uint64 epoch = attesterEpoch + 1;
        address last;
        for (uint256 k; k < n; ++k) {
            // Ascending order rules out zero and duplicates in one comparison.
            if (set[k] <= last) revert InvalidAttesterSet();
            last = set[k];
            _isAttester[epoch][set[k]] = true;
        }
        attesterEpoch = epoch;
        threshold = threshold_;
        _attesters = set;
        emit AttestersChanged(epoch, set, threshold_);
    }

    function _setReceiveGasLimit(uint32 gasLimit) private {
        if (gasLimit < MIN_RECEIVE_GAS_LIMIT || gasLimit > MAX_RECEIVE_GAS_LIMIT) {
            revert InvalidReceiveGasLimit(gasLimit);
        }
        receiveGasLimit = gasLimit;
        emit ReceiveGasLimitChanged(gasLimit);
    }
}
