// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice One step of an intent. A single struct serves both kinds (EIP-712 has no unions); the fields a
/// kind does not use must be zero/empty, so that one plan has exactly one encoding.
struct Step {
    uint8 kind; // 0 = transfer, 1 = call
    uint64 chain; // the chain the step runs on
    address token; // transfer: the token moved; call: tokenIn
    uint256 amount; // step 0: pulled from the owner; later steps: ALL (type(uint256).max)
    uint64 toChain; // transfer: destination (== chain only for a local payout as last step); call: 0
    address recipient; // transfer, last step: who gets the funds; otherwise 0
    address target; // call: the contract called; transfer: 0
    bytes data; // call: its calldata; transfer: empty
    address tokenOut; // call: the token expected back; transfer: 0
    uint256 minAmountOut; // call: the least tokenOut accepted; transfer: 0
    uint64 timeout; // cross-chain transfer: hop timeout in seconds (0: the intent's deadline); otherwise 0
}

/// @notice A multi-hop plan signed by its owner (EIP-712). Its id is the EIP-712 digest.
struct Intent {
    address owner;
    uint64 originChain;
    uint256 nonce;
    uint64 deadline; // whole-route deadline (unix seconds)
    uint8 refundPolicy; // 0 = back to the owner on the origin chain, 1 = recoveryAddress where it stopped
    address recoveryAddress; // policy 1 only; 0 otherwise
    Step[] steps;
}

/// @notice EIP-712 hashing of intents. The domain is {name "Ferry Intent", version "1", chainId: originChain,
/// verifyingContract: the router on the origin chain}: every router computes the same id for an intent.
library IntentLib {
    uint8 internal constant KIND_TRANSFER = 0;
    uint8 internal constant KIND_CALL = 1;
    uint8 internal constant REFUND_ORIGIN = 0;
    uint8 internal constant REFUND_RECOVERY = 1;
    uint256 internal constant ALL = type(uint256).max;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("Ferry Intent");
    bytes32 internal constant VERSION_HASH = keccak256("1");
    bytes32 internal constant STEP_TYPEHASH = keccak256(
        "Step(uint8 kind,uint64 chain,address token,uint256 amount,uint64 toChain,address recipient,address target,bytes data,address tokenOut,uint256 minAmountOut,uint64 timeout)"
    );
    bytes32 internal constant INTENT_TYPEHASH = keccak256(
        "Intent(address owner,uint64 originChain,uint256 nonce,uint64 deadline,uint8 refundPolicy,address recoveryAddress,Step[] steps)Step(uint8 kind,uint64 chain,address token,uint256 amount,uint64 toChain,address recipient,address target,bytes data,address tokenOut,uint256 minAmountOut,uint64 timeout)"
    );

    function domainSeparator(uint64 originChain, address originRouter) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, uint256(originChain), originRouter));
    }

    function hashStep(Step calldata s) internal pure returns (bytes32) {
        // Two halves keep the legacy code generator within its stack limit.
        bytes memory head = abi.encode(STEP_TYPEHASH, s.kind, s.chain, s.token, s.amount, s.toChain);
        bytes memory tail = abi.encode(s.recipient, s.target, keccak256(s.data), s.tokenOut, s.minAmountOut, s.timeout);
        return keccak256(bytes.concat(head, tail));
    }

    function hashIntent(Intent calldata it) internal pure returns (bytes32) {
        uint256 n = it.steps.length;
        bytes32[] memory stepHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            stepHashes[i] = hashStep(it.steps[i]);
        }
        return keccak256(
            abi.encode(
                INTENT_TYPEHASH,
                it.owner,
                it.originChain,
                it.nonce,
                it.deadline,
                it.refundPolicy,
                it.recoveryAddress,
                keccak256(abi.encodePacked(stepHashes))
            )
        );
    }

    /// @notice The intent's id: keccak256("\x19\x01" || domainSeparator || hashStruct(intent)), the digest
    /// the owner signs.
    function id(Intent calldata it, address originRouter) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(it.originChain, originRouter), hashIntent(it)));
    }
}
