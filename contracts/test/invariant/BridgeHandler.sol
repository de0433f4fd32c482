// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {Gateway} from "../../src/Gateway.sol";
import {IntentRouter} from "../../src/IntentRouter.sol";
import {Intent, IntentLib, Step} from "../../src/libraries/IntentLib.sol";
import {Packet} from "../../src/interfaces/IGateway.sol";
import {RouterFixture} from "../utils/RouterFixture.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives two chains (A and B) through random sequences of user transfers, batch deliveries (with
/// duplicates and late packets), acknowledgements, timeouts, clock jumps, and intents opened, advanced,
/// refunded and cancelled. Relayer and attesters are honest; everything else is adversarial timing.
/// It keeps a model (ghost state) of what is in flight, which the invariants compare with the contracts.
contract BridgeHandler is RouterFixture {
    enum Kind {
        User,
        Hop,
        FinalHop,
        RefundHop
    }

    struct Rec {
        Packet p;
        Kind kind;
        bytes32 intentId;
        uint64 originChain; // lineage of the value carried
        uint256 amount;
        bool received;
        bool success;
        bytes result;
        bool acked;
        bool timedOut;
    }

    uint256 internal constant MAX_PACKETS = 120;
    uint256 internal constant MAX_INTENTS = 24;
    address internal constant RECOVERY = address(0x2EC0FE2);

    Rec[] internal recs;
    bytes[] internal intentBlobs; // abi.encode(Intent): storage cannot hold the nested struct array
    bytes32[] public intentIds;
    uint256[] internal userKeys;
    address[] internal users;
    address internal vB_A; // tokenB's voucher on A
    uint256 public now_;

    // Model of the value in flight, per lineage: sent but neither landed nor refunded.
    mapping(uint64 originChain => uint256) public limbo;
    // Model of each intent.
    mapping(bytes32 => uint256) public hopsInLimbo;
    mapping(bytes32 => bool) public finishedByHop;

    string public unexpected; // set when an honest action reverted: an invariant reports it
    uint256 public delivered;
    uint256 public timedOutCount;
    uint256 public intentsDone;

    constructor() {
        _setUpRouterWorld();
        now_ = block.timestamp;
        vm.chainId(CHAIN_A);
        vB_A = A.vault.voucherOf(CHAIN_B, address(tokenB));
        for (uint256 i; i < 3; ++i) {
            uint256 k = uint256(keccak256(abi.encode("ferry user", i)));
            address u = vm.addr(k);
            userKeys.push(k);
            users.push(u);
            vm.chainId(CHAIN_A);
            tokenA.mint(u, 1e24);
            vm.prank(u);
            tokenA.approve(address(A.router), type(uint256).max);
            vm.chainId(CHAIN_B);
            tokenB.mint(u, 1e24);
        }
        // The LP's transfer in setup is settled; the model starts empty.
    }

    // ---------------------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------------------

    function warp(uint256 secs) external {
        now_ += bound(secs, 1, 2 hours);
        vm.warp(now_);
    }

    /// A user moves value between A and B: tokenA or B's voucher of it, tokenB or A's voucher of it.
    function userTransfer(uint256 userSeed, uint256 which, uint256 amount, uint256 timeoutSeed) external {
        if (recs.length >= MAX_PACKETS) return;
        vm.warp(now_);
        address u = users[userSeed % users.length];
        which %= 4;
        Chain memory src = which == 0 || which == 3 ? A : B;
        uint64 dst = src.id == CHAIN_A ? CHAIN_B : CHAIN_A;
        address token = which == 0 ? address(tokenA) : which == 1 ? vA_B : which == 2 ? address(tokenB) : vB_A;
        if (token.code.length == 0) return; // a voucher not deployed yet
        vm.chainId(src.id);
        uint256 bal = IERC20(token).balanceOf(u);
        if (bal == 0) return;
        amount = bound(amount, 1, bal);
        uint64 t = uint64(now_ + bound(timeoutSeed, 1, 3 hours));
        vm.prank(u);
        IERC20(token).approve(address(src.vault), amount);
        vm.recordLogs();
        vm.prank(u);
        try src.vault.transfer(token, amount, dst, u, t) {
            _record(Kind.User, bytes32(0));
        } catch {
            _unexpected("user transfer reverted");
        }
    }

    /// A relayer delivers up to n packets to one chain in one batch, possibly with one it (or a rival)
    /// already delivered, possibly late ones.
    function deliverBatch(uint256 dstSeed, uint256 start, uint256 n, bool withDuplicate) external {
        vm.warp(now_);
        n = bound(n, 1, 6);
        uint256 total = recs.length;
        if (total == 0) return;
        // The destination of some undelivered packet, if there is one.
        uint64 dst = dstSeed % 2 == 0 ? CHAIN_A : CHAIN_B;
        for (uint256 k; k < total; ++k) {
            Rec storage r = recs[(start % total + k) % total];
            if (!r.received && !r.acked) {
                dst = r.p.dstChain;
                break;
            }
        }
        uint256[] memory pick = new uint256[](n + 1);
        uint256 count;
        uint256 dup = type(uint256).max;
        for (uint256 k; k < total && count < n; ++k) {
            uint256 i = (start % total + k) % total;
            Rec storage r = recs[i];
            if (r.p.dstChain != dst) continue;
            if (!r.received && !r.acked) pick[count++] = i;
            else if (withDuplicate && dup == type(uint256).max && r.received) dup = i;
        }
        if (dup != type(uint256).max) pick[count++] = dup;
        if (count == 0) return;

        Chain memory d = _chain(dst);
        vm.chainId(dst);
        Packet[] memory ps = new Packet[](count);
        bytes[] memory atts = new bytes[](count);
        for (uint256 k; k < count; ++k) {
            ps[k] = recs[pick[k]].p;
            atts[k] = _attest(d.gateway.deliveryDigest(keccak256(abi.encode(ps[k]))));
        }
        vm.recordLogs();
        try d.gateway.deliver(ps, atts) {
            _noteReceipts(d, pick, count);
        } catch {
            _unexpected("deliver reverted");
        }
    }

    function acknowledge(uint256 start) external {
        vm.warp(now_);
        uint256 total = recs.length;
        for (uint256 k; k < total; ++k) {
            uint256 i = (start % total + k) % total;
            Rec storage r = recs[i];
            if (!r.received || r.acked) continue;
            Chain memory s = _chain(r.p.srcChain);
            vm.chainId(s.id);
            Packet memory p = r.p;
            bytes memory att = _attest(s.gateway.acknowledgementDigest(keccak256(abi.encode(p)), r.success, r.result));
            vm.recordLogs();
            try s.gateway.acknowledge(p, r.success, r.result, att) {
                r.acked = true;
                if (!r.success) _leaveLimbo(r);
                _recordAll(); // a refund never sends, but check
            } catch {
                _unexpected("acknowledge reverted");
            }
            return;
        }
    }

    function timeoutPacket(uint256 start) external {
        vm.warp(now_);
        uint256 total = recs.length;
        for (uint256 k; k < total; ++k) {
            uint256 i = (start % total + k) % total;
            Rec storage r = recs[i];
            if (r.received || r.acked || r.timedOut || now_ < r.p.timeoutTimestamp) continue;
            // The attesters look at the destination first.
            Chain memory d = _chain(r.p.dstChain);
            vm.chainId(d.id);
            if (d.gateway.received(r.p.srcChain, r.p.sequence)) {
                _unexpected("model says not received, chain says received");
                return;
            }
            Chain memory s = _chain(r.p.srcChain);
            vm.chainId(s.id);
            Packet memory p = r.p;
            bytes memory att = _attest(s.gateway.timeoutDigest(keccak256(abi.encode(p)), uint64(now_)));
            try s.gateway.timeout(p, uint64(now_), att) {
                r.timedOut = true;
                ++timedOutCount;
                _leaveLimbo(r);
            } catch {
                _unexpected("timeout reverted");
            }
            return;
        }
    }

    function openIntent(uint256 userSeed, uint256 amount, uint256 plan, uint256 policy, uint256 minOutSeed, uint256 t)
        external
    {
        if (intentBlobs.length >= MAX_INTENTS) return;
        vm.warp(now_);
        uint256 ui = userSeed % users.length;
        address u = users[ui];
        vm.chainId(CHAIN_A);
        uint256 bal = tokenA.balanceOf(u);
        if (bal == 0) return;
        amount = bound(amount, 1, bal < 1_000e18 ? bal : 1_000e18);
        uint64 hopTimeout = uint64(bound(t, 0, 2 hours));
        Step[] memory steps = _plan(plan % 3, amount, minOutSeed, hopTimeout);
        Intent memory it;
        it.owner = u;
        it.originChain = CHAIN_A;
        it.nonce = intentBlobs.length + 1;
        it.deadline = uint64(now_ + 1 hours + (t % 5 hours));
        if (policy % 2 == 1) {
            it.refundPolicy = IntentLib.REFUND_RECOVERY;
            it.recoveryAddress = RECOVERY;
        }
        it.steps = steps;
        vm.chainId(CHAIN_A);
        bytes32 id = A.router.intentId(it);
        bytes memory sig = _sign(userKeys[ui], id);
        try A.router.open(it, sig) returns (bytes32 got) {
            if (got != id) _unexpected("open returned another id");
            intentBlobs.push(abi.encode(it));
            intentIds.push(id);
        } catch {
            _unexpected("open reverted");
        }
    }

    /// Runs the next step of some intent whose funds wait on a chain.
    function advanceIntent(uint256 seed) external {
        uint256 n = intentBlobs.length;
        if (n == 0 || recs.length >= MAX_PACKETS) return;
        vm.warp(now_);
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            bytes32 id = intentIds[i];
            Chain memory c = _holdingChain(id);
            if (c.id == 0) continue;
            Intent memory it = abi.decode(intentBlobs[i], (Intent));
            vm.chainId(c.id);
            uint256 step = c.router.intentState(id).step;
            vm.recordLogs();
            try c.router.advance(it, step) {
                _recordHops(c, id);
            } catch {
                _unexpected("advance reverted");
            }
            return;
        }
    }

    /// Refunds some intent that is due (a hop came back, or its deadline passed); now and then the owner or
    /// the opener cancels one that has not started instead.
    function refundIntent(uint256 seed) external {
        uint256 n = intentBlobs.length;
        if (n == 0 || recs.length >= MAX_PACKETS) return;
        vm.warp(now_);
        if (seed % 8 == 0) {
            _cancel(seed / 8);
            return;
        }
        Chain[2] memory cs = [A, B];
        for (uint256 j; j < n; ++j) {
            uint256 i = (seed % n + j) % n;
            bytes32 id = intentIds[i];
            Intent memory it = abi.decode(intentBlobs[i], (Intent));
            for (uint256 k; k < 2; ++k) {
                vm.chainId(cs[k].id);
                IntentRouter.Position memory pos = cs[k].router.intentState(id);
                bool due = pos.status == IntentRouter.Status.Refunding
                    || (pos.status == IntentRouter.Status.Holding && now_ >= it.deadline);
                if (!due) continue;
                vm.recordLogs();
                try cs[k].router.refund(it) {
                    _recordHops(cs[k], id);
                } catch {
                    _unexpected("refund reverted");
                }
                return;
            }
        }
    }

    function _cancel(uint256 seed) internal {
        uint256 n = intentBlobs.length;
        uint256 i = seed % n;
        Intent memory it = abi.decode(intentBlobs[i], (Intent));
        vm.chainId(CHAIN_A);
        IntentRouter.Position memory pos = A.router.intentState(intentIds[i]);
        if (pos.status != IntentRouter.Status.Holding || pos.step != 0) return;
        // The owner, or this handler: it opened every intent, as a relayer does.
        if (seed % 2 == 0) vm.prank(it.owner);
        try A.router.cancel(it) {}
        catch {
            _unexpected("cancel reverted");
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // What the invariants read
    // ---------------------------------------------------------------------------------------------------

    function packetCount() external view returns (uint256) {
        return recs.length;
    }

    function intentCount() external view returns (uint256) {
        return intentIds.length;
    }

    function packetState(uint256 i)
        external
        view
        returns (uint64 srcChain, uint64 dstChain, uint64 sequence, bool acked, bool timedOut)
    {
        Rec storage r = recs[i];
        return (r.p.srcChain, r.p.dstChain, r.p.sequence, r.acked, r.timedOut);
    }

    function chains() external view returns (Chain memory, Chain memory) {
        return (A, B);
    }

    function tokens() external view returns (address, address, address, address) {
        return (address(tokenA), vA_B, address(tokenB), vB_A);
    }

    // ---------------------------------------------------------------------------------------------------
    // Model upkeep
    // ---------------------------------------------------------------------------------------------------

    function _plan(uint256 plan, uint256 amount, uint256 minOutSeed, uint64 hopTimeout)
        internal
        view
        returns (Step[] memory steps)
    {
        address to = users[minOutSeed % users.length];
        if (plan == 0) {
            steps = new Step[](1);
            steps[0] = _xfer(CHAIN_A, address(tokenA), amount, CHAIN_B, to);
        } else if (plan == 1) {
            // Sometimes asks more than the pool can give: the call fails and the intent refunds.
            uint256 minOut = minOutSeed % 4 == 0 ? type(uint128).max : minOutSeed % 4 == 1 ? 0 : amount;
            steps = new Step[](3);
            steps[0] = _xfer(CHAIN_A, address(tokenA), amount, CHAIN_B, address(0));
            steps[1] =
                _call(CHAIN_B, vA_B, address(pool), _swapData(vA_B, address(tokenB), minOut), address(tokenB), minOut);
            steps[2] = _xfer(CHAIN_B, address(tokenB), ALL, CHAIN_A, to);
            steps[2].timeout = hopTimeout;
        } else {
            steps = new Step[](3);
            steps[0] = _xfer(CHAIN_A, address(tokenA), amount, CHAIN_B, address(0));
            steps[1] = _xfer(CHAIN_B, vA_B, ALL, CHAIN_A, address(0));
            steps[1].timeout = hopTimeout;
            steps[2] = _xfer(CHAIN_A, address(tokenA), ALL, CHAIN_A, to);
        }
        steps[0].timeout = hopTimeout;
    }

    function _holdingChain(bytes32 id) internal returns (Chain memory) {
        vm.chainId(CHAIN_A);
        if (A.router.intentState(id).status == IntentRouter.Status.Holding) return A;
        vm.chainId(CHAIN_B);
        if (B.router.intentState(id).status == IntentRouter.Status.Holding) return B;
        Chain memory none;
        return none;
    }

    /// @dev Records the packets an advance/refund sent, classified by the position they left behind.
    function _recordHops(Chain memory c, bytes32 id) internal {
        Packet[] memory ps = _sentPackets();
        if (ps.length == 0) return;
        if (ps.length > 1) _unexpected("one step sent two packets");
        vm.chainId(c.id);
        IntentRouter.Position memory pos = c.router.intentState(id);
        Kind kind;
        if (pos.status == IntentRouter.Status.RefundInFlight) kind = Kind.RefundHop;
        else if (pos.status == IntentRouter.Status.InFlight) kind = pos.finalHop ? Kind.FinalHop : Kind.Hop;
        else _unexpected("a hop left its position neither in flight nor refunding");
        if (pos.hopSequence != ps[0].sequence) _unexpected("position names another hop");
        _push(ps[0], kind, id);
    }

    function _record(Kind kind, bytes32 id) internal {
        Packet[] memory ps = _sentPackets();
        for (uint256 i; i < ps.length; ++i) {
            _push(ps[i], kind, id);
        }
    }

    function _recordAll() internal {
        Packet[] memory ps = _sentPackets();
        if (ps.length != 0) _unexpected("an acknowledgement sent a packet");
    }

    function _push(Packet memory p, Kind kind, bytes32 id) internal {
        (uint64 originChain,,, uint256 amount,,,,) =
            abi.decode(p.payload, (uint64, bytes32, uint8, uint256, bytes32, bytes32, bool, bytes));
        Rec storage r = recs.push();
        r.p = p;
        r.kind = kind;
        r.intentId = id;
        r.originChain = originChain;
        r.amount = amount;
        limbo[originChain] += amount;
        if (id != bytes32(0)) hopsInLimbo[id] += 1;
    }

    function _noteReceipts(Chain memory d, uint256[] memory pick, uint256 count) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 l; l < logs.length; ++l) {
            if (logs[l].emitter != address(d.gateway) || logs[l].topics[0] != Gateway.PacketReceived.selector) {
                continue;
            }
            uint64 src = uint64(uint256(logs[l].topics[2]));
            uint64 seq = uint64(uint256(logs[l].topics[3]));
            (bool success, bytes memory result) = abi.decode(logs[l].data, (bool, bytes));
            bool matched;
            for (uint256 k; k < count; ++k) {
                Rec storage r = recs[pick[k]];
                if (r.p.srcChain != src || r.p.sequence != seq) continue;
                matched = true;
                if (r.received || r.timedOut) {
                    // The invariants report these; the model stays as it was.
                    _unexpected(r.received ? "a packet was received twice" : "a timed-out packet was received");
                    break;
                }
                r.received = true;
                r.success = success;
                r.result = result;
                ++delivered;
                if (success) {
                    _leaveLimbo(r);
                    if (r.kind == Kind.FinalHop || r.kind == Kind.RefundHop) finishedByHop[r.intentId] = true;
                }
                break;
            }
            if (!matched) _unexpected("PacketReceived for a packet not in the batch");
        }
    }

    function _leaveLimbo(Rec storage r) internal {
        limbo[r.originChain] -= r.amount;
        if (r.intentId != bytes32(0)) hopsInLimbo[r.intentId] -= 1;
    }

    function _unexpected(string memory what) internal {
        if (bytes(unexpected).length == 0) unexpected = what;
    }
}
