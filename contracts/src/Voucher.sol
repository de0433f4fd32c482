// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title Voucher
/// @notice The ERC-20 a TokenVault mints for a token native to another chain. Each voucher is an EIP-1167
/// clone of one implementation, deployed with CREATE2 (salt = keccak256(abi.encode(originChain, originToken))),
/// so its address is known before it exists. Only the vault that deployed the implementation mints and burns.
contract Voucher is ERC20 {
    /// @notice The vault that owns every clone of this implementation (clones share the immutable).
    address public immutable vault;

    uint64 public originChain;
    uint8 private _decimals;
    bool private _initialized;
    /// @notice The token's address on its origin chain (an EVM address left-padded with zeros).
    bytes32 public originToken;

    error OnlyVault();
    error AlreadyInitialized();

    modifier onlyVault() {
        if (msg.sender != vault) revert OnlyVault();
        _;
    }

    constructor() ERC20("", "") {
        vault = msg.sender;
        // The implementation itself is never a usable voucher.
        _initialized = true;
    }

    /// @notice Called once by the vault right after cloning.
    function initialize(uint64 originChain_, bytes32 originToken_, uint8 decimals_) external onlyVault {
        if (_initialized) revert AlreadyInitialized();
        _initialized = true;
        originChain = originChain_;
        originToken = originToken_;
        _decimals = decimals_;
    }

    /// @notice Mints on delivery or refund; vault only.
    function mint(address to, uint256 amount) external onlyVault {
        _mint(to, amount);
    }

    /// @notice Burns `amount` from `from`, spending the allowance `from` gave the vault; vault only.
    function burnFrom(address from, uint256 amount) external onlyVault {
        _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
    }

    function name() public view override returns (string memory) {
        bytes32 t = originToken;
        string memory token = uint256(t) >> 160 == 0
            ? Strings.toHexString(address(uint160(uint256(t))))
            : Strings.toHexString(uint256(t), 32);
        return string.concat("Ferry voucher ", Strings.toString(originChain), ":", token);
    }

    function symbol() public pure override returns (string memory) {
        return "FVOUCHER";
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
