// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @notice The little of forge-std's Test these tests need: the cheatcodes and `bound`.
abstract contract TestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @dev Maps any x into [lo, hi] (inclusive) without discarding fuzz runs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + (x % (size + 1));
    }
}
