// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A low-level call that copies back at most `maxCopy` bytes of return (or revert) data, so that a
/// callee cannot make its caller pay memory for an arbitrarily large reply.
library BoundedCall {
    function call(address target, uint256 gasLimit, bytes memory data, uint256 maxCopy)
        internal
        returns (bool ok, bytes memory ret)
    {
        assembly ("memory-safe") {
            ok := call(gasLimit, target, 0, add(data, 0x20), mload(data), 0, 0)
            let n := returndatasize()
            if gt(n, maxCopy) { n := maxCopy }
            ret := mload(0x40)
            mstore(ret, n)
            returndatacopy(add(ret, 0x20), 0, n)
            mstore(0x40, add(add(ret, 0x20), and(add(n, 31), not(31))))
        }
    }
}
