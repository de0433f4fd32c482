# Ferry: build, test, run. See README.md.
#   make            build/ferry and build/libferry.a
#   make test       bootstrap if needed, then unit + contract + end-to-end tests
#   make run        bootstrap if needed, start the devnet and the daemon
#   make bench      benchmarks (figures, not tests)
#   make asan       unit tests under AddressSanitizer + UBSan
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each
#   make clean

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
PKGS    := libsecp256k1 libcurl libcjson libsodium nettle libmicrohttpd
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wpointer-arith -Wundef -Wvla -Wcast-align -Wwrite-strings -Wno-unused-parameter -Werror
STD     := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
EXTRA_CFLAGS  ?=
EXTRA_LDFLAGS ?=

# pkg-config is asked only when something is compiled, so `make clean` needs nothing installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lleveldb -lpthread -lm

CFLAGS  = $(STD) $(OPT) $(WARN) -MMD -MP -Iinclude -Ichains $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(PKG_LIBS)

# The core: every .c under src/ (but the CLI) and under chains/*/ goes into libferry.a.
CORE_SRC  := $(sort $(wildcard src/*.c) $(wildcard chains/*/*.c))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libferry.a
BIN       := $(BUILD)/ferry

# Unit tests: tests/unit/test_*.c, one cmocka binary each, linked with every other .c file in
# tests/unit/ (shared test helpers: testutil.c, fake servers).
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTUTIL_SRC := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
TESTUTIL  := $(TESTUTIL_SRC:%.c=$(BUILD)/obj/%.o)

# Benchmarks: tests/bench/bench_*.c.
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

# Fuzz harnesses: tests/fuzz/fuzz_*.c (libFuzzer, built with clang in build/fuzz).
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

.PHONY: all lib unit-tests test run bench asan fuzz fuzz-build clean deps contracts vectors devnet-up devnet-down soak

all: $(BIN) $(LIB)
lib: $(LIB)

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTUTIL) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS)

unit-tests: $(UNIT_BIN)

# Installs whatever is missing (Debian packages, the pinned npm toolchain); quick when nothing is.
deps:
	@scripts/bootstrap.sh --check >/dev/null 2>&1 || scripts/bootstrap.sh

contracts: deps
	@scripts/contracts.sh build

# The contracts are built first: unit tests against a private anvil deploy build/contracts/*.json.
test: deps
	@$(MAKE) --no-print-directory all unit-tests
	@scripts/contracts.sh build >$(BUILD)/contracts-build.log 2>&1 || { cat $(BUILD)/contracts-build.log; exit 1; }
	@scripts/run-tests.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/devnet.sh run

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@scripts/bench.sh

asan:
	@scripts/bootstrap.sh --check >/dev/null 2>&1 || scripts/bootstrap.sh
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" unit-tests
	@FERRY_TEST_BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 scripts/run-tests.sh --unit-only

fuzz-build:
	@scripts/bootstrap.sh --check --fuzz >/dev/null 2>&1 || scripts/bootstrap.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" lib
	@mkdir -p build/fuzz/bin
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  clang $(STD) -O1 -g $(WARN) -Iinclude -Ichains $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o build/fuzz/bin/$$n $$f build/fuzz/libferry.a $(PKG_LIBS) || exit 1; \
	done

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

vectors: deps
	@scripts/gen-vectors.sh

soak: deps
	@$(MAKE) --no-print-directory all
	@scripts/soak.sh

clean:
	rm -rf build contracts/out contracts/cache

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_SRC:tests/unit/%.c=$(BUILD)/obj/tests/unit/%.d) $(BENCH_SRC:tests/bench/%.c=$(BUILD)/obj/tests/bench/%.d) $(TESTUTIL:.o=.d)
