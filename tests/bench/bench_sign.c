/* Signing throughput: Ferry's signer (key in guarded memory) against libsecp256k1's raw
 * secp256k1_ecdsa_sign_recoverable on the same digests, in the same run; the target is at least 0.9x.
 * Two signer figures: inside a signing window (signer_open/signer_seal around a burst, the way the
 * event loop signs) and strict (the key page closed after every signature), plus the bare cost of the
 * two mprotect(2) calls that separate them.
 * And whole signed EIP-1559 transactions: built, hashed, signed through the signer (in a window),
 * signature attached and serialized into a reused buffer, which is what the transaction manager does. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "ferry/keccak.h"
#include "ferry/signer.h"
#include "ferry/tx_sign.h"

#define DIGESTS 1024

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t digests[DIGESTS][32];
static volatile uint8_t sink;

struct rates {
    double strict;      /* signer_sign_digest, key page opened and closed around each signature */
    double windowed;    /* signer_sign_digest inside signer_open / signer_seal (one pair per pass) */
    double raw;         /* secp256k1_ecdsa_sign_recoverable + serialisation */
    double mprotect_ns; /* one readonly + noaccess pair on a guarded page */
    double tx;          /* whole signed EIP-1559 transactions, serialized */
};

/* A typical delivery transaction: 200 bytes of calldata to a gateway. */
static uint8_t calldata[200];

/* Runs each contender for `rounds` passes over the digests, interleaved so that frequency scaling
 * and noise hit all alike. */
static void run(struct signer *s, secp256k1_context *ctx, const uint8_t seckey[32], int rounds, struct rates *out)
{
    double t_strict = 0, t_window = 0, t_raw = 0, t_mp = 0, t_tx = 0;
    struct fbuf raw;
    fbuf_init(&raw, 1 << 16);
    uint8_t *guard = sodium_malloc(32);
    memcpy(guard, seckey, 32);
    sodium_mprotect_noaccess(guard);
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (int i = 0; i < DIGESTS; i++) {
            uint8_t sig[SIGNATURE_LEN];
            if (signer_sign_digest(s, "bench", digests[i], sig) != FERRY_OK)
                abort();
            sink ^= sig[0];
        }
        double t1 = now();
        if (signer_open(s, "bench") != FERRY_OK)
            abort();
        for (int i = 0; i < DIGESTS; i++) {
            uint8_t sig[SIGNATURE_LEN];
            if (signer_sign_digest(s, "bench", digests[i], sig) != FERRY_OK)
                abort();
            sink ^= sig[0];
        }
        if (signer_seal(s) != FERRY_OK)
            abort();
        double t2 = now();
        for (int i = 0; i < DIGESTS; i++) {
            secp256k1_ecdsa_recoverable_signature rs;
            uint8_t sig[64];
            int recid;
            if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, digests[i], seckey, NULL, NULL))
                abort();
            secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs);
            sink ^= sig[0];
        }
        double t3 = now();
        for (int i = 0; i < DIGESTS; i++) {
            sodium_mprotect_readonly(guard);
            sink ^= guard[i & 31];
            sodium_mprotect_noaccess(guard);
        }
        double t4 = now();
        if (signer_open(s, "bench") != FERRY_OK)
            abort();
        for (int i = 0; i < DIGESTS; i++) {
            struct eth_tx tx = {
                .type = ETH_TX_1559,
                .chain_id = 31337,
                .nonce = (uint64_t)(r * DIGESTS + i),
                .gas_limit = 250000,
                .to = {0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
                       0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3},
                .value = u256_from_u64(0),
                .data = calldata,
                .data_len = sizeof calldata,
                .max_priority_fee_per_gas = u256_from_u64(1000000000),
                .max_fee_per_gas = u256_from_u64(30000000000ULL + (uint64_t)i),
            };
            fbuf_reset(&raw);
            if (eth_tx_sign(s, "bench", &tx) != FERRY_OK || eth_tx_serialize(&tx, &raw) != FERRY_OK)
                abort();
            sink ^= raw.data[raw.len - 1];
        }
        if (signer_seal(s) != FERRY_OK)
            abort();
        double t5 = now();
        t_tx += t5 - t4;
        t_strict += t1 - t0;
        t_window += t2 - t1;
        t_raw += t3 - t2;
        t_mp += t4 - t3;
    }
    sodium_free(guard);
    fbuf_free(&raw);
    double n = (double)rounds * DIGESTS;
    out->tx = n / t_tx;
    out->strict = n / t_strict;
    out->windowed = n / t_window;
    out->raw = n / t_raw;
    out->mprotect_ns = t_mp / n * 1e9;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    if (rounds < 1)
        rounds = 1;
    if (sodium_init() < 0)
        return 1;
    /* Fixed key and digests: the same work on every run. */
    uint8_t seckey[32];
    keccak256(seckey, "ferry bench key", 15);
    for (int i = 0; i < DIGESTS; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "digest %d", i);
        keccak256(digests[i], msg, (size_t)n);
    }
    struct signer *s;
    if (signer_new(&s) != FERRY_OK || signer_add_secret(s, "bench", seckey) != FERRY_OK) {
        fprintf(stderr, "bench_sign: %s\n", ferry_errmsg());
        return 1;
    }
    /* The raw reference gets the same treatment as the signer: one randomised context, made once. */
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    if (!secp256k1_context_randomize(ctx, seed))
        return 1;

    struct rates r;
    run(s, ctx, seckey, 2, &r); /* warm-up */
    run(s, ctx, seckey, rounds, &r);
    double strict = r.strict / r.raw, windowed = r.windowed / r.raw, txr = r.tx / r.raw;
    printf("bench signed_tx_1559: %.0f tx/s (%.3fx libsecp256k1 sign_recoverable at %.0f sig/s)\n", r.tx, txr,
           r.raw);
    /* Lines in the suite's format: bench <name>: <figure> <unit> (<ratio>x <reference>). */
    printf("bench sign_digest: %.0f sig/s (%.3fx libsecp256k1 sign_recoverable at %.0f sig/s)\n", r.windowed,
           windowed, r.raw);
    printf("bench sign_digest_strict: %.0f sig/s (%.3fx libsecp256k1 sign_recoverable at %.0f sig/s)\n", r.strict,
           strict, r.raw);
    printf("bench sign_mprotect: %.0f ns/sig (%.3fx a raw signature of %.0f ns)\n", r.mprotect_ns,
           r.mprotect_ns / (1e9 / r.raw), 1e9 / r.raw);
    printf("# sign_digest signs inside a signing window (signer_open/seal); sign_digest_strict closes the key\n"
           "# page after every signature. Target >= 0.9x: %s.\n",
           windowed >= 0.9 && txr >= 0.9 ? "met" : "MISSED");

    secp256k1_context_destroy(ctx);
    signer_free(s);
    sodium_memzero(seckey, sizeof seckey);
    return 0; /* a figure, not a test: the MISSED line above is the signal */
}
