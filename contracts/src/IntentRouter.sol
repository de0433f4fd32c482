// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ITransferRecipient, ITransferSender} from "./interfaces/ITransferHooks.sol";
import {BoundedCall} from "./libraries/BoundedCall.sol";
import {Intent, IntentLib, Step} from "./libraries/IntentLib.sol";
import {CallExecutor} from "./CallExecutor.sol";
import {TokenVault} from "./TokenVault.sol";

/// @title IntentRouter
/// @notice Runs owner-signed multi-hop intents, one step at a time. Anyone may advance an intent (the relayer
/// decides when); the contract enforces what: only the next step of the signed plan, on the chain it names.
/// Between steps the router holds each intent's funds in a per-intent position; no intent's funds ever pay
/// for another's. A failing call, a returned hop or a passed deadline lead to the refund the intent names.
contract IntentRouter is ITransferSender, ITransferRecipient, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Where an intent stands on this chain.
    enum Status {
        None, // never here
        Holding, // funds here, waiting for step `step`
        InFlight, // step `step` sent the funds to another chain; outcome unknown yet
        Departed, // that hop landed: the intent goes on elsewhere
        Completed, // the last step paid the recipient (here, or by a hop from here that landed)
        Refunding, // a hop from here came back: funds here, waiting for refund()
        RefundInFlight, // the refund is on its way to the owner on the origin chain
        Refunded, // refund paid (here, or by a return hop from here that landed)
        Cancelled // the owner (or the opener) gave the funds back to the owner before the first step
    }

    enum FailReason {
        None,
        DeadlinePassed,
        TokenMismatch, // the step names a token the intent does not hold
        CallFailed // the call reverted, did not spend exactly its input, or returned too little
    }

    /// @notice One intent's footprint on this chain (two storage slots).
    struct Position {
        Status status;
        uint16 step; // Holding: the next step; otherwise the step that last acted here
        bool finalHop; // InFlight: the hop is the intent's last step
        uint64 hopSequence; // InFlight/RefundInFlight and after: the vault sequence of the hop
        address token; // the token held (or last held) here
        uint256 amount; // and how much
    }

    uint256 public constant MAX_STEPS = 16;
    uint256 public constant MAX_CALL_DATA_BYTES = 8 * 1024;
    /// @notice A call step's data may hold this word (at an ABI word boundary: offset 4 + 32k) wherever the
    /// amount going in belongs; it is replaced by the amount the intent holds when the step runs, which the
    /// signer cannot know in advance (the output of an earlier swap, a fee-on-transfer hop).
    bytes32 public constant AMOUNT_IN_PLACEHOLDER = keccak256("Ferry.AMOUNT_IN");
    /// @notice Longest StepFailed detail kept: room for the executor's CallReverted(reason) with a full
    /// 256-byte reason (4 + 32 + 32 + 256 bytes), so the detail always decodes.
    uint256 public constant MAX_FAIL_DETAIL_BYTES = 384;
    uint64 public constant MIN_REFUND_HOP_TIMEOUT = 5 minutes;
    uint64 public constant MAX_REFUND_HOP_TIMEOUT = 30 days;

    TokenVault public immutable vault;
    CallExecutor public immutable executor;

    /// @notice Timeout of a return transfer carrying a refund home (seconds).
    uint64 public refundHopTimeout = 1 hours;
    /// @notice The router on each other chain.
    mapping(uint64 chainId => address router) public peers;
    /// @notice Whether an owner's nonce is spent (by open or invalidateNonce).
    mapping(address owner => mapping(uint256 nonce => bool)) public nonceUsed;
    /// @notice The intent each hop in flight from here belongs to.
    mapping(uint64 sequence => bytes32 intentId) public hopIntent;
    mapping(bytes32 intentId => Position) private _positions;
    /// @dev Who called `open`, when that was not the owner, until step 0 runs (or the intent is refunded or
    /// cancelled before it): the one account besides the owner allowed to cancel. Cleared as soon as it can no
    /// longer matter (a gas refund), so it costs a slot only while the intent waits on the origin chain.
    mapping(bytes32 intentId => address) private _opener;

    event IntentOpened(
        bytes32 indexed intentId, address indexed owner, uint256 nonce, address token, uint256 amount, uint64 deadline
    );
    /// @notice Step `stepIndex` ran here. token/amount: what the intent holds after a call, or what a
    /// transfer moved; sequence: the vault sequence of a cross-chain transfer (0 otherwise).
    event StepExecuted(
        bytes32 indexed intentId, uint256 indexed stepIndex, address token, uint256 amount, uint64 sequence
    );
    event StepFailed(bytes32 indexed intentId, uint256 indexed stepIndex, FailReason reason, bytes detail);
    event HopArrived(
        bytes32 indexed intentId, uint256 indexed stepIndex, uint64 srcChain, address token, uint256 amount
    );
    event HopDelivered(bytes32 indexed intentId, uint64 indexed sequence);
    event HopReturned(bytes32 indexed intentId, uint64 indexed sequence, address token, uint256 amount);
    event RefundSent(bytes32 indexed intentId, uint64 indexed sequence, address token, uint256 amount);
    event IntentCompleted(bytes32 indexed intentId, address token, uint256 amount);
    event IntentRefunded(bytes32 indexed intentId, address token, uint256 amount);
    event IntentCancelled(bytes32 indexed intentId);
    event NonceInvalidated(address indexed owner, uint256 nonce);
    event PeerSet(uint64 indexed chainId, address router);
    event RefundHopTimeoutChanged(uint64 timeout);

    error WrongOriginChain(uint64 originChain);
    error DeadlinePassed(uint64 deadline, uint256 blockTimestamp);
    error NonceUsed(address owner, uint256 nonce);
    error BadSignature();
    error ZeroOwner();
    error InvalidRefundPolicy(uint8 policy, address recoveryAddress);
    error NoSteps();
    error TooManySteps(uint256 count, uint256 max);
    error StepChainMismatch(uint256 index, uint64 expected, uint64 got);
    error UnknownStepKind(uint256 index, uint8 kind);
    error FirstAmountInvalid(uint256 amount);
    error AmountMustBeAll(uint256 index);
    error LastStepMustBeTransfer();
    error InvalidTransferStep(uint256 index);
    error InvalidCallStep(uint256 index);
    error UnknownRouter(uint64 chainId);
    error NotHolding(bytes32 intentId, Status status);
    error StepNotExpected(bytes32 intentId, uint256 expected, uint256 got);
    error NotRefundable(bytes32 intentId, Status status);
    error NotCancellable(bytes32 intentId, Status status);
    error NotOwnerOrOpener();
    error OnlyVault();
    error OnlySelf();
    error InsufficientGas();
    error InsufficientOutput(uint256 amountOut, uint256 minAmountOut);
    error BadMemo();
    error PositionBusy(bytes32 intentId, Status status);
    error InvalidPeerChain(uint64 chainId);
    error InvalidRefundHopTimeout(uint64 timeout);

    modifier onlyVault() {
        if (msg.sender != address(vault)) revert OnlyVault();
        _;
    }

    constructor(TokenVault vault_, address owner_) Ownable(owner_) {
        vault = vault_;
        executor = new CallExecutor();
    }

    // ---------------------------------------------------------------------------------------------------
    // Intents
    // ---------------------------------------------------------------------------------------------------

    /// @notice Opens an intent the owner signed (EIP-712, or ERC-1271 for contract owners) and pulls the first
    /// step's `amount` of `token` from the owner (allowance to this router). Anyone may submit it.
    /// @return id the intent's EIP-712 digest.
    function open(Intent calldata intent, bytes calldata signature) external nonReentrant returns (bytes32 id) {
        if (intent.originChain != uint64(block.chainid)) revert WrongOriginChain(intent.originChain);
        if (block.timestamp >= intent.deadline) revert DeadlinePassed(intent.deadline, block.timestamp);
        _validate(intent);
        if (nonceUsed[intent.owner][intent.nonce]) revert NonceUsed(intent.owner, intent.nonce);
        id = IntentLib.id(intent, address(this));
        if (!SignatureChecker.isValidSignatureNow(intent.owner, id, signature)) revert BadSignature();
        nonceUsed[intent.owner][intent.nonce] = true;

        Step calldata first = intent.steps[0];
        IERC20 token = IERC20(first.token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(intent.owner, address(this), first.amount);
        uint256 amount = token.balanceOf(address(this)) - before;

        Position storage p = _positions[id];
        p.status = Status.Holding;
        p.token = first.token;
        p.amount = amount;
        // The owner may cancel anyway: only a relayer opening for the owner needs a slot.
        if (msg.sender != intent.owner) _opener[id] = msg.sender;
        emit IntentOpened(id, intent.owner, intent.nonce, first.token, amount, intent.deadline);
    }

    /// @notice Runs step `stepIndex` of `intent` on this chain, if the intent's funds are here waiting for
    /// exactly that step. Past the deadline it refunds instead. Anyone may call it.
    function advance(Intent calldata intent, uint256 stepIndex) external nonReentrant {
        bytes32 id = intentId(intent);
        Position storage p = _positions[id];
        if (p.status != Status.Holding) revert NotHolding(id, p.status);
        if (stepIndex != p.step) revert StepNotExpected(id, p.step, stepIndex);
        // Step 0 runs only on the origin chain (a hop always brings an intent to step >= 1): past it nothing
        // can be cancelled, whatever this step does.
        if (stepIndex == 0) delete _opener[id];
        if (block.timestamp >= intent.deadline) {
            emit StepFailed(id, stepIndex, FailReason.DeadlinePassed, "");
            _refund(id, intent, p);
            return;
        }
        // The plan was validated at open: step `stepIndex` runs on this chain (the hop that brought the funds
        // here was the previous step, whose toChain is this chain).
        Step calldata s = intent.steps[stepIndex];
        if (s.token != p.token) {
            emit StepFailed(id, stepIndex, FailReason.TokenMismatch, "");
            _refund(id, intent, p);
        } else if (s.kind == IntentLib.KIND_TRANSFER) {
            _transferStep(id, intent, stepIndex, p);
        } else {
            _callStep(id, intent, stepIndex, p);
        }
    }

    /// @notice Pays the refund the intent names, when its funds are here and either a hop came back or the
    /// deadline has passed. Anyone may call it.
    function refund(Intent calldata intent) external nonReentrant {
        bytes32 id = intentId(intent);
        Position storage p = _positions[id];
        if (p.status == Status.Holding && block.timestamp >= intent.deadline) {
            if (p.step == 0) delete _opener[id];
            emit StepFailed(id, p.step, FailReason.DeadlinePassed, "");
        } else if (p.status != Status.Refunding) {
            revert NotRefundable(id, p.status);
        }
        _refund(id, intent, p);
    }

    /// @notice Gives the funds back to the owner before the first step has run. The owner may call it, and so
    /// may the account that opened the intent (the relayer the owner's dApp asked to run it, and now asks to
    /// stop it); the funds go to the owner either way.
    function cancel(Intent calldata intent) external nonReentrant {
        bytes32 id = intentId(intent);
        if (msg.sender != intent.owner && msg.sender != _opener[id]) {
            revert NotOwnerOrOpener();
        }
        Position storage p = _positions[id];
        if (intent.originChain != uint64(block.chainid) || p.status != Status.Holding || p.step != 0) {
            revert NotCancellable(id, p.status);
        }
        delete _opener[id];
        p.status = Status.Cancelled;
        emit IntentCancelled(id);
        _payout(p.token, intent.owner, p.amount);
    }

    /// @notice Spends one of the caller's nonces, so that an intent signed with it can no longer be opened.
    function invalidateNonce(uint256 nonce) external {
        nonceUsed[msg.sender][nonce] = true;
        emit NonceInvalidated(msg.sender, nonce);
    }

    /// @dev The isolated body of a call step, reached only through a self-call so that a failure rolls back
    /// every effect (approvals, the executor's pull, the target's work) before the router refunds.
    function runCall(
        address target,
        bytes calldata data,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 minAmountOut
    ) external returns (uint256 amountOut) {
        if (msg.sender != address(this)) revert OnlySelf();
        uint256 before = IERC20(tokenOut).balanceOf(address(this));
        IERC20(tokenIn).forceApprove(address(executor), amountIn);
        uint256 claimed = executor.execute(target, data, IERC20(tokenIn), amountIn, IERC20(tokenOut));
        // Credit no more than actually arrived (fee-on-transfer), and no more than the executor produced
        // (tokens arriving for other intents while the target ran are theirs).
        uint256 arrived = IERC20(tokenOut).balanceOf(address(this)) - before;
        amountOut = claimed < arrived ? claimed : arrived;
        if (amountOut < minAmountOut) revert InsufficientOutput(amountOut, minAmountOut);
    }

    // ---------------------------------------------------------------------------------------------------
    // Vault hooks
    // ---------------------------------------------------------------------------------------------------

    /// @notice A hop from the router on `srcChain` arrived: the intent named in the memo now holds `amount`
    /// of `token` here and waits for its next step. Reverting bounces the tokens back to the source.
    function onTransferReceived(uint64 srcChain, bytes32 sender, address token, uint256 amount, bytes calldata memo)
        external
        onlyVault
    {
        address peer = peers[srcChain];
        if (peer == address(0) || sender != bytes32(uint256(uint160(peer)))) revert UnknownRouter(srcChain);
        if (memo.length != 64) revert BadMemo();
        (bytes32 id, uint16 next) = abi.decode(memo, (bytes32, uint16));
        Position storage p = _positions[id];
        Status st = p.status;
        // An intent may come back to a chain it left (A -> B -> A); anything else here means a bug upstream.
        if (st != Status.None && st != Status.Departed) revert PositionBusy(id, st);
        p.status = Status.Holding;
        p.step = next;
        p.finalHop = false;
        p.hopSequence = 0;
        p.token = token;
        p.amount = amount;
        emit HopArrived(id, next, srcChain, token, amount);
    }

    /// @notice A hop from here landed.
    function onTransferDelivered(uint64 sequence) external onlyVault {
        bytes32 id = hopIntent[sequence];
        if (id == bytes32(0)) return;
        delete hopIntent[sequence];
        Position storage p = _positions[id];
        if (p.status == Status.RefundInFlight) {
            p.status = Status.Refunded;
            emit IntentRefunded(id, p.token, p.amount);
        } else if (p.finalHop) {
            p.status = Status.Completed;
            emit IntentCompleted(id, p.token, p.amount);
        } else {
            p.status = Status.Departed;
            emit HopDelivered(id, sequence);
        }
    }

    /// @notice A hop from here failed or timed out and its tokens are back: the intent is to be refunded.
    function onTransferRefunded(uint64 sequence, address token, uint256 amount) external onlyVault {
        bytes32 id = hopIntent[sequence];
        if (id == bytes32(0)) return;
        delete hopIntent[sequence];
        Position storage p = _positions[id];
        p.status = Status.Refunding;
        p.finalHop = false;
        p.token = token;
        p.amount = amount;
        emit HopReturned(id, sequence, token, amount);
    }

    // ---------------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------------

    /// @notice The intent's id, valid on every chain: its EIP-712 digest under the origin router's domain.
    function intentId(Intent calldata intent) public view returns (bytes32) {
        return IntentLib.id(intent, _originRouter(intent.originChain));
    }

    /// @notice The EIP-712 domain separator intents from `originChain` are signed under.
    function domainSeparator(uint64 originChain) external view returns (bytes32) {
        return IntentLib.domainSeparator(originChain, _originRouter(originChain));
    }

    /// @notice hashStruct(intent), for cross-checking an off-chain encoder.
    function hashIntent(Intent calldata intent) external pure returns (bytes32) {
        return IntentLib.hashIntent(intent);
    }

    /// @notice The account that opened the intent, when that was not its owner, while it may still cancel
    /// (until step 0 runs or the intent ends); zero otherwise (opened by the owner, or no longer cancellable).
    function opener(bytes32 id) external view returns (address) {
        return _opener[id];
    }

    /// @notice Where the intent stands on this chain: status, step reached, and the funds (token, amount).
    function intentState(bytes32 id) external view returns (Position memory) {
        return _positions[id];
    }

    // ---------------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------------

    /// @notice Registers (or, with zero, removes) the router on `chainId`.
    function setPeer(uint64 chainId, address router) external onlyOwner {
        if (chainId == uint64(block.chainid) || chainId == 0) revert InvalidPeerChain(chainId);
        peers[chainId] = router;
        emit PeerSet(chainId, router);
    }

    function setRefundHopTimeout(uint64 timeout) external onlyOwner {
        if (timeout < MIN_REFUND_HOP_TIMEOUT || timeout > MAX_REFUND_HOP_TIMEOUT) {
            revert InvalidRefundHopTimeout(timeout);
        }
        refundHopTimeout = timeout;
        emit RefundHopTimeoutChanged(timeout);
    }

    // ---------------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------------

    function _originRouter(uint64 originChain) private view returns (address r) {
        if (originChain == uint64(block.chainid)) return address(this);
        r = peers[originChain];
        if (r == address(0)) revert UnknownRouter(originChain);
    }

    function _transferStep(bytes32 id, Intent calldata intent, uint256 i, Position storage p) private {
        Step calldata s = intent.steps[i];
        uint256 amount = p.amount;
        if (s.toChain == uint64(block.chainid)) {
            // A local payout (validated to be the last step).
            p.status = Status.Completed;
            emit StepExecuted(id, i, s.token, amount, 0);
            emit IntentCompleted(id, s.token, amount);
            _payout(s.token, s.recipient, amount);
            return;
        }
        if (amount == 0) {
            // Nothing to carry (a call produced zero and accepted it); the vault refuses empty transfers.
            emit StepFailed(id, i, FailReason.CallFailed, "");
            _refund(id, intent, p);
            return;
        }
        bool last = i + 1 == intent.steps.length;
        address to = last ? s.recipient : peers[s.toChain];
        if (to == address(0)) revert UnknownRouter(s.toChain);
        // forge-lint: disable-next-line(unsafe-typecast) (i < MAX_STEPS, checked at open)
        bytes memory memo = last ? bytes("") : abi.encode(id, uint16(i + 1));
        uint64 hopTimeout = intent.deadline;
        if (s.timeout != 0 && block.timestamp + s.timeout < hopTimeout) {
            hopTimeout = uint64(block.timestamp + s.timeout);
        }

        p.status = Status.InFlight;
        p.finalHop = last;
        IERC20(s.token).forceApprove(address(vault), amount);
        uint64 seq = vault.transferWithMemo(s.token, amount, s.toChain, to, hopTimeout, memo);
        p.hopSequence = seq;
        hopIntent[seq] = id;
        emit StepExecuted(id, i, s.token, amount, seq);
    }

    function _callStep(bytes32 id, Intent calldata intent, uint256 i, Position storage p) private {
        Step calldata s = intent.steps[i];
        uint256 amountIn = p.amount;
        bytes memory data = abi.encodeCall(
            this.runCall, (s.target, _withAmountIn(s.data, amountIn), s.token, amountIn, s.tokenOut, s.minAmountOut)
        );
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory ret) = BoundedCall.call(address(this), gasBefore, data, MAX_FAIL_DETAIL_BYTES);
        if (!ok) {
            // Out of gas, here or in the target: the caller may have given too little. Let it retry with
            // more rather than refund a plan that might have worked (the deadline bounds the wait).
            if (gasleft() <= gasBefore / 63 || _isError(ret, CallExecutor.TargetOutOfGas.selector)) {
                revert InsufficientGas();
            }
            emit StepFailed(id, i, FailReason.CallFailed, ret);
            _refund(id, intent, p);
            return;
        }
        uint256 out = abi.decode(ret, (uint256));
        // forge-lint: disable-next-line(unsafe-typecast) (i < MAX_STEPS, checked at open)
        p.step = uint16(i + 1);
        p.token = s.tokenOut;
        p.amount = out;
        emit StepExecuted(id, i, s.tokenOut, out, 0);
    }

    /// @dev Policy 1, or policy 0 on the origin chain: pay here. Policy 0 elsewhere: send the funds home to the
    /// owner; if that return hop fails it comes back (Refunding) and refund() can be called again.
    function _refund(bytes32 id, Intent calldata intent, Position storage p) private {
        address token = p.token;
        uint256 amount = p.amount;
        bool payHere = intent.refundPolicy == IntentLib.REFUND_RECOVERY || intent.originChain == uint64(block.chainid);
        if (payHere || amount == 0) {
            address to = intent.refundPolicy == IntentLib.REFUND_RECOVERY ? intent.recoveryAddress : intent.owner;
            p.status = Status.Refunded;
            emit IntentRefunded(id, token, amount);
            _payout(token, to, amount);
            return;
        }
        p.status = Status.RefundInFlight;
        p.finalHop = false;
        IERC20(token).forceApprove(address(vault), amount);
        uint64 seq = vault.transferWithMemo(
            token, amount, intent.originChain, intent.owner, uint64(block.timestamp) + refundHopTimeout, ""
        );
        p.hopSequence = seq;
        hopIntent[seq] = id;
        emit RefundSent(id, seq, token, amount);
    }

    function _isError(bytes memory ret, bytes4 selector) private pure returns (bool) {
        // forge-lint: disable-next-line(unsafe-typecast) (the first 4 of exactly 4 bytes)
        return ret.length == 4 && bytes4(ret) == selector;
    }

    /// @dev A copy of `data` with every word-aligned AMOUNT_IN_PLACEHOLDER replaced by `amountIn`.
    function _withAmountIn(bytes calldata data, uint256 amountIn) private pure returns (bytes memory out) {
        out = data;
        bytes32 placeholder = AMOUNT_IN_PLACEHOLDER;
        uint256 len = out.length;
        for (uint256 off = 4; off + 32 <= len; off += 32) {
            bytes32 word;
            assembly ("memory-safe") {
                word := mload(add(add(out, 0x20), off))
            }
            if (word == placeholder) {
                assembly ("memory-safe") {
                    mstore(add(add(out, 0x20), off), amountIn)
                }
            }
        }
    }

    function _payout(address token, address to, uint256 amount) private {
        if (amount != 0) IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Static checks of the plan: chains chain up, amounts are concrete only where funds enter, unused
    /// fields are empty, the route ends with a transfer. Bounded by MAX_STEPS.
    function _validate(Intent calldata intent) private pure {
        if (intent.owner == address(0)) revert ZeroOwner();
        if (intent.refundPolicy == IntentLib.REFUND_ORIGIN) {
            if (intent.recoveryAddress != address(0)) {
                revert InvalidRefundPolicy(intent.refundPolicy, intent.recoveryAddress);
            }
        } else if (intent.refundPolicy != IntentLib.REFUND_RECOVERY || intent.recoveryAddress == address(0)) {
            revert InvalidRefundPolicy(intent.refundPolicy, intent.recoveryAddress);
        }
        uint256 n = intent.steps.length;
        if (n == 0) revert NoSteps();
        if (n > MAX_STEPS) revert TooManySteps(n, MAX_STEPS);
        uint64 cur = intent.originChain;
        for (uint256 i; i < n; ++i) {
            Step calldata s = intent.steps[i];
            if (s.chain != cur) revert StepChainMismatch(i, cur, s.chain);
            if (i == 0) {
                if (s.amount == 0 || s.amount == IntentLib.ALL) revert FirstAmountInvalid(s.amount);
            } else if (s.amount != IntentLib.ALL) {
                revert AmountMustBeAll(i);
            }
            bool last = i + 1 == n;
            if (s.kind == IntentLib.KIND_TRANSFER) {
                if (
                    s.token == address(0) || s.toChain == 0 || s.target != address(0) || s.data.length != 0
                        || s.tokenOut != address(0) || s.minAmountOut != 0
                ) revert InvalidTransferStep(i);
                if (last) {
                    // The final transfer names the recipient; to this same chain it is a local payout.
                    if (s.recipient == address(0) || (s.toChain == cur && s.timeout != 0)) {
                        revert InvalidTransferStep(i);
                    }
                } else if (s.recipient != address(0) || s.toChain == cur) {
                    revert InvalidTransferStep(i);
                }
                cur = s.toChain;
            } else if (s.kind == IntentLib.KIND_CALL) {
                if (last) revert LastStepMustBeTransfer();
                if (
                    s.token == address(0) || s.target == address(0) || s.tokenOut == address(0) || s.tokenOut == s.token
                        || s.toChain != 0 || s.recipient != address(0) || s.timeout != 0
                        || s.data.length > MAX_CALL_DATA_BYTES
                ) revert InvalidCallStep(i);
            } else {
                revert UnknownStepKind(i, s.kind);
            }
        }
    }
}
