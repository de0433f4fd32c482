// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Call-step targets that misbehave in chosen ways.
contract LoopTarget {
    function run() external pure {
        uint256 x;
        while (true) {
            ++x;
        }
    }
}

/// @notice Takes `amount` of `token` from the caller and gives nothing back.
contract SinkTarget {
    function take(IERC20 token, uint256 amount) external {
        token.transferFrom(msg.sender, address(this), amount);
    }
}

/// @notice Calls back into whatever it is told to (the router, to try re-entering it).
contract ReenterTarget {
    function poke(address target, bytes calldata data) external {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @notice Pays `amount` of `token` it already holds to the caller, taking `amountIn` of `tokenIn`: a "swap" at
/// a price set by the test.
contract FixedPriceTarget {
    function swap(IERC20 tokenIn, uint256 amountIn, IERC20 tokenOut, uint256 amountOut) external {
        tokenIn.transferFrom(msg.sender, address(this), amountIn);
        tokenOut.transfer(msg.sender, amountOut);
    }
}

/// @notice An ERC-1271 smart wallet owned by one EOA key.
contract ERC1271Wallet {
    address public immutable signer;

    constructor(address signer_) {
        signer = signer_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address rec, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && rec == signer) return 0x1626ba7e;
        return 0xffffffff;
    }

    function approve(IERC20 token, address spender, uint256 amount) external {
        require(msg.sender == signer, "not signer");
        token.approve(spender, amount);
    }
}

/// @notice Reverts with 1000 bytes of revert data.
contract LongRevertTarget {
    function run() external pure {
        bytes memory junk = new bytes(1000);
        assembly {
            revert(add(junk, 0x20), 1000)
        }
    }
}
