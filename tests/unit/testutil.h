/* Shared helpers for Ferry's cmocka unit tests.
 * Tests run from the repository root (scripts/run-tests.sh does that), so vector files
 * are read as tests/vectors/NAME.json. */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

/* Reads tests/vectors/<name> and parses it; fails the test if it cannot. Free with cJSON_Delete. */
cJSON *tu_load_vectors(const char *name);

/* Reads a whole file into a NUL-terminated malloc'd buffer (fails the test if it cannot). */
char *tu_read_file(const char *path, size_t *len);
/* Reads and parses a JSON file (fails the test if it cannot). Free with cJSON_Delete. */
cJSON *tu_read_json(const char *path);

/* Decodes hex (optional 0x) into a malloc'd buffer; fails the test on bad hex. */
uint8_t *tu_unhex(const char *hex, size_t *len);

/* bytes[0..n) as 0x-prefixed lower-case hex, malloc'd (the caller frees it). */
char *tu_hexstr(const uint8_t *p, size_t n);

/* Asserts that bytes[0..n) equal the hex string `hex` (optional 0x), printing both on mismatch. */
#define tu_assert_hex_equal(bytes, n, hex) tu_assert_hex_equal_((bytes), (n), (hex), __FILE__, __LINE__)
void tu_assert_hex_equal_(const uint8_t *bytes, size_t n, const char *hex, const char *file, int line);

/* The random seed of this run: from --seed N or FERRY_TEST_SEED, else from the clock.
 * Printed once so a failure can be replayed. */
uint64_t tu_seed(void);
/* Parses --seed N from argv (call first thing in main). */
void tu_init(int argc, char **argv);
/* A deterministic generator seeded by tu_seed() (xorshift64*). */
uint64_t tu_rand(void);
void tu_rand_bytes(uint8_t *out, size_t n);

/* A blocking JSON-RPC call (for a test's own set-up against a private anvil, not the code under
 * test): returns the detached "result" (the caller frees it); fails the test on any error. */
cJSON *tu_anvil_call(const char *url, const char *method, const char *params);

/* ---- running the ferry binary ---- */

struct loop;

/* Finds the ferry binary ($FERRY_TEST_BUILD/ferry, else build/ferry) into out. False, printing
 * why, when there is none (`make all` builds it, `make unit-tests` does not): the caller skips. */
bool tu_ferry_bin(char *out, size_t cap);
/* Copies the NULL-terminated args after argv[0..n) and terminates argv (cap entries; fails the
 * test when they do not fit). */
void tu_argv(const char **argv, size_t cap, size_t n, const char *const *args);
/* Starts argv[0] with argv, stdout to out_path and stderr to err_path (each truncated; NULL:
 * inherited); returns its pid. */
pid_t tu_spawn(const char *const *argv, const char *out_path, const char *err_path);
/* Waits (20 s at most) for pid to exit, turning `loop` meanwhile when given (an API on it answers
 * the child); returns its exit status (fails the test unless it exited). */
int tu_wait_exit(pid_t pid, struct loop *loop);

/* Runs a group and returns its exit status; use as the body of main. */
#define TU_RUN(tests) cmocka_run_group_tests_name(__FILE__, tests, NULL, NULL)

#endif
