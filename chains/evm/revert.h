/* Revert data as text for operators: the custom errors of Ferry's contracts (and the OpenZeppelin
 * errors they can raise) by name with their decoded arguments, Error(string) and Panic(uint256).
 *
 *   PacketNotPending(uint64 sequence=1)
 *   OwnableUnauthorizedAccount(address account=0x70997970C51812dc3A010C7d01b50e0d17dc79C8)
 *   CallReverted(bytes reason=InsufficientOutput(uint256 amountOut=5, uint256 minAmountOut=10))
 *   nope                                   (Error("nope"): the string itself, as before)
 *   panic 0x11 (arithmetic overflow)
 *   custom error 0xdeadbeef (5 bytes)      (a selector not in the table)
 *
 * Addresses are EIP-55, integers decimal, bytes hex (long ones cut, with their length), strings
 * quoted with anything outside printable ASCII escaped; a bytes argument that is itself revert data
 * of a known error is decoded in place. The text is always printable ASCII and cut to the caller's
 * buffer ("..." at the end when cut). Nothing here fails or allocates more than the input needs. */
#ifndef FERRY_EVM_REVERT_H
#define FERRY_EVM_REVERT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes revert data given as "0x..." (NULL, "0x" or bad hex: "no reason given").
 * Always NUL-terminates when cap > 0. */
void evm_revert_text(char *out, size_t cap, const char *revert_hex);
/* The same from raw bytes (e.g. a StepFailed detail or an acknowledgement result). */
void evm_revert_text_bytes(char *out, size_t cap, const uint8_t *data, size_t len);

/* The table of known errors: signatures with parameter names, "PacketNotPending(uint64 sequence)".
 * Selectors are computed from them once (keccak of the canonical form) at first use. */
size_t evm_error_count(void);
const char *evm_error_signature(size_t i); /* NULL past the end */
/* The signature whose selector is sel, or NULL. */
const char *evm_error_lookup(const uint8_t sel[4]);

#endif
