// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

import {IGateway, IPacketReceiver, IPacketSender, Packet} from "./interfaces/IGateway.sol";
import {ITransferRecipient, ITransferSender} from "./interfaces/ITransferHooks.sol";
import {Bytes32Address} from "./libraries/Bytes32Address.sol";
import {Voucher} from "./Voucher.sol";

/// @title TokenVault
/// @notice ICS-20-like token transfers over the Gateway. A token native to this chain is locked here and
/// comes out on the other side as a Voucher; a voucher is burned here and comes out on the other side as a
/// voucher of the same origin, or as the native token again when it reaches its origin chain. A failed
/// acknowledgement or a timeout refunds the sender in full.
/// @dev Vouchers are identified by origin (chain, token), not by path: every vault is the same audited code
/// behind the same attester set, so a voucher may travel between any two non-origin chains.
/// Fee-on-transfer tokens are locked at the amount actually received; rebasing tokens are not supported.
contract TokenVault is IPacketReceiver, IPacketSender, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using Bytes32Address for address;
    using Bytes32Address for bytes32;

    /// @notice A packet's payload: abi.encode of these fields in this order, as a flat tuple
    /// (uint64,bytes32,uint8,uint256,bytes32,bytes32,bool,bytes).
    struct TransferData {
        uint64 originChain; // chain where the token is native
        bytes32 originToken; // its address there
        uint8 decimals; // its decimals (used when a voucher is first deployed)
        uint256 amount;
        bytes32 sender; // who called the vault on the source chain (refunded on failure)
        bytes32 recipient; // who is credited on the destination chain
        bool notifySender; // sent with transferWithMemo: the sender implements ITransferSender
        bytes memo; // non-empty: the recipient implements ITransferRecipient and is called
    }

    struct Origin {
        uint64 chain;
        bytes32 token;
    }

    uint256 public constant MAX_MEMO_BYTES = 1024;

    IGateway public immutable gateway;
    /// @notice The implementation every voucher clones.
    address public immutable voucherImplementation;

    /// @notice The vault on each other chain, as a bytes32 account.
    mapping(uint64 chainId => bytes32 vault) public peers;
    /// @notice How much of each native token is locked here (equals the vouchers outstanding elsewhere
    /// plus what is in flight).
    mapping(address token => uint256 amount) public locked;
    mapping(address voucher => Origin) private _voucherOrigin;

    event TransferSent(
        uint64 indexed sequence,
        uint64 indexed dstChain,
        address indexed sender,
        address token,
        uint256 amount,
        address recipient,
        uint64 originChain,
        bytes32 originToken,
        bytes memo
    );
    event TransferReceived(
        uint64 indexed srcChain, uint64 indexed sequence, address indexed recipient, address token, uint256 amount
    );
    event TransferRefunded(
        uint64 indexed sequence, address indexed sender, address token, uint256 amount, bool timedOut
    );
    event VoucherDeployed(uint64 indexed originChain, bytes32 indexed originToken, address voucher);
    event PeerSet(uint64 indexed chainId, bytes32 peer);

    error OnlyGateway();
    error ZeroAmount();
    error ZeroRecipient();
    error UnknownPeer(uint64 chainId);
    error InvalidPeerChain(uint64 chainId);
    error SenderNotAContract();
    error MemoTooLarge(uint256 length, uint256 max);
    error InsufficientLocked(address token, uint256 amount, uint256 locked);

    modifier onlyGateway() {
        if (msg.sender != address(gateway)) revert OnlyGateway();
        _;
    }

    constructor(IGateway gateway_, address owner_) Ownable(owner_) {
        gateway = gateway_;
        voucherImplementation = address(new Voucher());
    }

    // ---------------------------------------------------------------------------------------------------
    // Sending
    // ---------------------------------------------------------------------------------------------------

    /// @notice Sends `amount` of `token` to `recipient` on `dstChain`: locks a native token or burns a voucher
    /// (the vault needs an allowance either way). A failed delivery or a timeout refunds the caller.
    /// @return sequence the Gateway sequence of the packet.
    function transfer(address token, uint256 amount, uint64 dstChain, address recipient, uint64 timeoutTimestamp)
        external
        nonReentrant
        returns (uint64 sequence)
    {
        return _send(token, amount, dstChain, recipient, timeoutTimestamp, false, "");
    }

    /// @notice As `transfer`, for contracts: the caller must implement ITransferSender and is told the
    /// outcome; a non-empty `memo` is handed to the recipient, which must implement ITransferRecipient.
    function transferWithMemo(
        address token,
        uint256 amount,
        uint64 dstChain,
        address recipient,
        uint64 timeoutTimestamp,
        bytes calldata memo
    ) external nonReentrant returns (uint64 sequence) {
        if (msg.sender.code.length == 0) revert SenderNotAContract();
        if (memo.length > MAX_MEMO_BYTES) revert MemoTooLarge(memo.length, MAX_MEMO_BYTES);
        return _send(token, amount, dstChain, recipient, timeoutTimestamp, true, memo);
    }

    // ---------------------------------------------------------------------------------------------------
    // Gateway callbacks
    // ---------------------------------------------------------------------------------------------------

    /// @notice Destination side: mints the voucher or unlocks the native token. Reverting here (unknown
    /// peer, recipient hook refusing, ...) turns into a failed acknowledgement and a refund at the source.
    function onPacket(Packet calldata packet) external onlyGateway {
        bytes32 peer = peers[packet.srcChain];
        if (peer == bytes32(0) || packet.sender != peer) revert UnknownPeer(packet.srcChain);
        TransferData memory d = _decode(packet.payload);
        address recipient = d.recipient.toAddress();
        bool hook = d.memo.length != 0;

        address token;
        uint256 credited;
        if (d.originChain == uint64(block.chainid)) {
            token = d.originToken.toAddress();
            uint256 l = locked[token];
            if (d.amount > l) revert InsufficientLocked(token, d.amount, l);
            locked[token] = l - d.amount;
            credited = _pay(token, recipient, d.amount, hook);
        } else {
            token = _voucherFor(d.originChain, d.originToken, d.decimals);
            Voucher(token).mint(recipient, d.amount);
            credited = d.amount;
        }
        emit TransferReceived(packet.srcChain, packet.sequence, recipient, token, credited);
        if (hook) {
            ITransferRecipient(recipient).onTransferReceived(packet.srcChain, d.sender, token, credited, d.memo);
        }
    }

    /// @notice Source side: a failed acknowledgement refunds the sender; a successful one only notifies it.
    function onAck(Packet calldata packet, bool success, bytes calldata) external onlyGateway {
        if (success) {
            TransferData memory d = _decode(packet.payload);
            if (d.notifySender) ITransferSender(d.sender.toAddress()).onTransferDelivered(packet.sequence);
        } else {
            _refund(packet, false);
        }
    }

    /// @notice Source side: a timed-out transfer refunds the sender.
    function onTimeout(Packet calldata packet) external onlyGateway {
        _refund(packet, true);
    }

    // ---------------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------------

    /// @notice The token representing (originChain, originToken) on this chain: the token itself when it is
    /// native here, otherwise the (CREATE2-determined) voucher address, deployed or not yet.
    function voucherOf(uint64 originChain, address originToken) external view returns (address) {
        if (originChain == uint64(block.chainid)) return originToken;
        return _predictVoucher(originChain, originToken.toBytes32());
    }

    /// @notice Origin of a voucher deployed by this vault; (0, 0) for any other token.
    function originOf(address token) external view returns (uint64 chain, bytes32 originToken) {
        Origin memory o = _voucherOrigin[token];
        return (o.chain, o.token);
    }

    // ---------------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------------

    /// @notice Registers (or, with zero, removes) the vault on `chainId`.
    function setPeer(uint64 chainId, bytes32 peer) external onlyOwner {
        if (chainId == uint64(block.chainid) || chainId == 0) revert InvalidPeerChain(chainId);
        peers[chainId] = peer;
        emit PeerSet(chainId, peer);
    }

    // ---------------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------------

    function _send(
        address token,
        uint256 amount,
        uint64 dstChain,
        address recipient,
        uint64 timeoutTimestamp,
        bool notifySender,
        bytes memory memo
    ) private returns (uint64 sequence) {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        bytes32 peer = peers[dstChain];
        if (peer == bytes32(0)) revert UnknownPeer(dstChain);

        TransferData memory d;
        Origin memory o = _voucherOrigin[token];
        if (o.chain == 0) {
            // Native here: lock what actually arrived.
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            amount = IERC20(token).balanceOf(address(this)) - before;
            if (amount == 0) revert ZeroAmount();
            locked[token] += amount;
            d.originChain = uint64(block.chainid);
            d.originToken = token.toBytes32();
            d.decimals = _decimalsOf(token);
        } else {
            Voucher(token).burnFrom(msg.sender, amount);
            d.originChain = o.chain;
            d.originToken = o.token;
            d.decimals = Voucher(token).decimals();
        }
        d.amount = amount;
        d.sender = msg.sender.toBytes32();
        d.recipient = recipient.toBytes32();
        d.notifySender = notifySender;
        d.memo = memo;

        sequence = gateway.send(dstChain, peer, timeoutTimestamp, _encode(d));
        emit TransferSent(sequence, dstChain, msg.sender, token, amount, recipient, d.originChain, d.originToken, memo);
    }

    function _refund(Packet calldata packet, bool timedOut) private {
        TransferData memory d = _decode(packet.payload);
        address sender = d.sender.toAddress();
        address token;
        uint256 credited;
        if (d.originChain == uint64(block.chainid)) {
            token = d.originToken.toAddress();
            locked[token] -= d.amount;
            credited = _pay(token, sender, d.amount, d.notifySender);
        } else {
            token = _voucherFor(d.originChain, d.originToken, d.decimals);
            Voucher(token).mint(sender, d.amount);
            credited = d.amount;
        }
        emit TransferRefunded(packet.sequence, sender, token, credited, timedOut);
        if (d.notifySender) ITransferSender(sender).onTransferRefunded(packet.sequence, token, credited);
    }

    /// @dev Pays out a native token. When the recipient is told an amount, it is the amount that actually
    /// arrived (a fee-on-transfer token delivers less than was sent).
    function _pay(address token, address to, uint256 amount, bool measure) private returns (uint256) {
        if (!measure) {
            IERC20(token).safeTransfer(to, amount);
            return amount;
        }
        uint256 before = IERC20(token).balanceOf(to);
        IERC20(token).safeTransfer(to, amount);
        return IERC20(token).balanceOf(to) - before;
    }

    function _voucherFor(uint64 originChain, bytes32 originToken, uint8 decimals_) private returns (address v) {
        bytes32 salt = keccak256(abi.encode(originChain, originToken));
        v = Clones.predictDeterministicAddress(voucherImplementation, salt);
        if (_voucherOrigin[v].chain == 0) {
            Clones.cloneDeterministic(voucherImplementation, salt);
            Voucher(v).initialize(originChain, originToken, decimals_);
            _voucherOrigin[v] = Origin(originChain, originToken);
            emit VoucherDeployed(originChain, originToken, v);
        }
    }

    function _predictVoucher(uint64 originChain, bytes32 originToken) private view returns (address) {
        bytes32 salt = keccak256(abi.encode(originChain, originToken));
        return Clones.predictDeterministicAddress(voucherImplementation, salt);
    }

    /// @dev decimals() is optional in ERC-20: a token without a sane one counts as 18.
    function _decimalsOf(address token) private view returns (uint8) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeCall(IERC20Metadata.decimals, ()));
        if (ok && ret.length >= 32) {
            uint256 dec = abi.decode(ret, (uint256));
            // forge-lint: disable-next-line(unsafe-typecast) (range checked)
            if (dec <= type(uint8).max) return uint8(dec);
        }
        return 18;
    }

    function _encode(TransferData memory d) private pure returns (bytes memory) {
        return
            abi.encode(
                d.originChain, d.originToken, d.decimals, d.amount, d.sender, d.recipient, d.notifySender, d.memo
            );
    }

    function _decode(bytes calldata payload) private pure returns (TransferData memory d) {
        (d.originChain, d.originToken, d.decimals, d.amount, d.sender, d.recipient, d.notifySender, d.memo) =
            abi.decode(payload, (uint64, bytes32, uint8, uint256, bytes32, bytes32, bool, bytes));
    }
}
