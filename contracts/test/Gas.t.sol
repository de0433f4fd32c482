// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Gateway} from "../src/Gateway.sol";
import {Packet} from "../src/interfaces/IGateway.sol";
import {IntentRouter} from "../src/IntentRouter.sol";
import {Intent} from "../src/libraries/IntentLib.sol";
import {TestToken} from "../src/testing/TestToken.sol";
import {Fixture} from "./utils/Fixture.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";
import {console} from "./utils/console.sol";

/// @notice Gas of `deliver` for batches of 1, 10 and 50 token transfers (A -> B, each minting vouchers to a
/// fresh recipient; 2-of-3 attestations). Every account the batch touches is cooled first (vm.cool), so the
/// figures are those of a transaction of its own: execution gas measured around the call, plus 21000 and the
/// calldata cost (4 gas per zero byte, 16 per non-zero byte). docs/gas.md carries the table.
contract GasTest is Fixture {
    TestToken internal token;
    address internal voucher;

    function setUp() public {
        _setUpChains();
        vm.chainId(CHAIN_A);
        token = new TestToken("Gas", "GAS", 18);
        token.mint(address(this), 1e30);
        token.approve(address(A.vault), type(uint256).max);
        // The voucher exists already (its one-time deployment is not what a batch pays).
        vm.recordLogs();
        A.vault.transfer(address(token), 1, CHAIN_B, address(1), uint64(block.timestamp + 1 days));
        _relay(_sentPacket());
        vm.chainId(CHAIN_B);
        voucher = B.vault.voucherOf(CHAIN_A, address(token));
    }

    function _batch(uint256 n) internal returns (uint256 total) {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        for (uint256 i; i < n; ++i) {
            address to = address(uint160(0x10000 + i));
            A.vault.transfer(address(token), 1e18 + i, CHAIN_B, to, uint64(block.timestamp + 1 days));
        }
        Packet[] memory ps = _sentPackets();
        vm.chainId(CHAIN_B);
        bytes[] memory atts = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            atts[i] = _attest(B.gateway.deliveryDigest(keccak256(abi.encode(ps[i]))));
        }
        bytes memory data = abi.encodeCall(Gateway.deliver, (ps, atts));
        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        vm.cool(address(B.gateway));
        vm.cool(address(B.vault));
        vm.cool(voucher);
        vm.cool(B.vault.voucherImplementation());
        uint256 before = gasleft();
        (bool ok,) = address(B.gateway).call(data);
        uint256 execution = before - gasleft();
        vm.assertTrue(ok, "batch delivered");
        for (uint256 i; i < n; ++i) {
            vm.assertTrue(B.gateway.received(CHAIN_A, ps[i].sequence), "every packet received");
        }
        total = 21_000 + calldataGas + execution;
        console.log(
            string.concat(
                "gas deliver batch=",
                vm.toString(n),
                " total=",
                vm.toString(total),
                " per_packet=",
                vm.toString(total / n),
                " execution=",
                vm.toString(execution),
                " calldata=",
                vm.toString(calldataGas),
                " calldata_bytes=",
                vm.toString(data.length)
            )
        );
    }

    /// Gas of settling n delivered transfers on the source: one `acknowledgeBatch` (or n `acknowledge`
    /// transactions when single), same method (Gateway, vault and token cooled; 21000 + calldata + execution).
    function _ackBatch(uint256 n, bool single) internal returns (uint256 total) {
        vm.chainId(CHAIN_A);
        vm.recordLogs();
        for (uint256 i; i < n; ++i) {
            A.vault
                .transfer(
                    address(token), 1e18 + i, CHAIN_B, address(uint160(0x20000 + i)), uint64(block.timestamp + 1 days)
                );
        }
        Packet[] memory ps = _sentPackets();
        bool[] memory oks = new bool[](n);
        bytes[] memory results = new bytes[](n);
        bytes[] memory atts = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            (oks[i], results[i]) = _deliver(ps[i]);
            vm.assertTrue(oks[i], "delivered with success");
        }
        vm.chainId(CHAIN_A);
        for (uint256 i; i < n; ++i) {
            atts[i] = _attest(A.gateway.acknowledgementDigest(keccak256(abi.encode(ps[i])), oks[i], results[i]));
        }
        uint256 calldataGas;
        uint256 execution;
        uint256 txs = single ? n : 1;
        for (uint256 t; t < txs; ++t) {
            bytes memory data = single
                ? abi.encodeCall(Gateway.acknowledge, (ps[t], oks[t], results[t], atts[t]))
                : abi.encodeCall(Gateway.acknowledgeBatch, (ps, oks, results, atts));
            for (uint256 i; i < data.length; ++i) {
                calldataGas += data[i] == 0 ? 4 : 16;
            }
            vm.cool(address(A.gateway));
            vm.cool(address(A.vault));
            vm.cool(address(token));
            uint256 before = gasleft();
            (bool ok,) = address(A.gateway).call(data);
            execution += before - gasleft();
            vm.assertTrue(ok, "acknowledged");
        }
        for (uint256 i; i < n; ++i) {
            vm.assertEq(A.gateway.commitments(ps[i].sequence), bytes32(0), "every packet settled");
        }
        total = 21_000 * txs + calldataGas + execution;
        console.log(
            string.concat(
                single ? "gas acknowledge singles=" : "gas acknowledgeBatch batch=",
                vm.toString(n),
                " total=",
                vm.toString(total),
                " per_packet=",
                vm.toString(total / n),
                " execution=",
                vm.toString(execution),
                " calldata=",
                vm.toString(calldataGas)
            )
        );
    }

    function test_gas_acknowledgeSingle() public {
        _ackBatch(1, true);
    }

    function test_gas_acknowledgeBatchOf1() public {
        _ackBatch(1, false);
    }

    function test_gas_acknowledgeBatchOf10() public {
        vm.assertLt(_ackBatch(10, false), _ackBatch(10, true), "one batch of 10 costs less than 10 acknowledges");
    }

    function test_gas_acknowledgeBatchOf50() public {
        vm.assertLt(_ackBatch(50, false), 10_000_000, "50 acks well under a 30M block");
    }

    function test_gas_deliverBatchOf1() public {
        _batch(1);
    }

    function test_gas_deliverBatchOf10() public {
        _batch(10);
    }

    /// A batch of 50 must fit well under a 30M block: asserted under 10M.
    function test_gas_deliverBatchOf50() public {
        vm.assertLt(_batch(50), 10_000_000, "50 packets well under a 30M block");
    }
}

/// @notice Gas of the router's entry points a relayer pays on the origin chain: `open` (a three-step route,
/// submitted by a relayer or by the owner), `advance` of step 0 (the first hop) and `cancel`. Same method as
/// above: the router and token are cooled, execution measured around the call, plus 21000 and calldata.
contract RouterGasTest is RouterFixture {
    address internal relayer = address(0x2E1A);

    function setUp() public {
        _setUpRouterWorld();
    }

    function _measure(string memory what, address from, address to, bytes memory data) internal returns (uint256) {
        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        vm.cool(address(A.router));
        vm.cool(address(tokenA));
        vm.cool(address(A.vault));
        vm.cool(address(A.gateway));
        vm.prank(from);
        uint256 before = gasleft();
        (bool ok,) = to.call(data);
        uint256 execution = before - gasleft();
        vm.assertTrue(ok, what);
        uint256 total = 21_000 + calldataGas + execution;
        console.log(
            string.concat("gas router ", what, " total=", vm.toString(total), " execution=", vm.toString(execution))
        );
        return total;
    }

    function _openCall(Intent memory it) internal returns (bytes memory) {
        return abi.encodeCall(IntentRouter.open, (it, _signIntent(it, OWNER_KEY)));
    }

    function test_gas_openByRelayer_thenAdvance() public {
        Intent memory it = _routeIntent(100e18, 1);
        vm.chainId(CHAIN_A);
        _measure("open by_relayer", relayer, address(A.router), _openCall(it));
        _measure("advance step0", relayer, address(A.router), abi.encodeCall(IntentRouter.advance, (it, 0)));
    }

    function test_gas_openByOwner() public {
        Intent memory it = _routeIntent(100e18, 1);
        vm.chainId(CHAIN_A);
        _measure("open by_owner", user, address(A.router), _openCall(it));
    }

    function test_gas_openByRelayer_thenCancel() public {
        Intent memory it = _routeIntent(100e18, 1);
        vm.chainId(CHAIN_A);
        _measure("open by_relayer", relayer, address(A.router), _openCall(it));
        _measure("cancel by_owner", user, address(A.router), abi.encodeCall(IntentRouter.cancel, (it)));
    }
}
