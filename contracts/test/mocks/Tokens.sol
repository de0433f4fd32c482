// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Takes `feeBps` of every transfer (burned): a fee-on-transfer token.
contract FeeToken is ERC20 {
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee", "FEE") {
        feeBps = feeBps_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value * feeBps / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice An ERC-20 whose decimals() reverts (decimals is optional in ERC-20).
contract NoDecimalsToken is ERC20 {
    constructor() ERC20("NoDec", "ND") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        revert("no decimals");
    }
}

/// @notice decimals() answers a word that is no uint8.
contract HugeDecimalsToken is ERC20 {
    constructor() ERC20("Huge", "HG") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        assembly {
            mstore(0, 1000)
            return(0, 32)
        }
    }
}
