// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Conversions between EVM addresses and the bytes32 account form used in packets.
library Bytes32Address {
    error NotAnEvmAddress(bytes32 account);

    function toBytes32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    /// @dev Reverts unless the upper 12 bytes are zero: a bytes32 account that is not an EVM address.
    function toAddress(bytes32 b) internal pure returns (address) {
        if (uint256(b) >> 160 != 0) revert NotAnEvmAddress(b);
        return address(uint160(uint256(b)));
    }
}
