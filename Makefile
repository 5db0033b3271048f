# og: tiny programs for energy-monitoring data.  See README.md.
VERSION = 0.1
PREFIX ?= /usr/local
MANPREFIX ?= $(PREFIX)/share/man
CC ?= cc
CFLAGS ?= -O2
OGFLAGS = -std=c11 -pthread -Wall -Wextra -Werror -D_DEFAULT_SOURCE -D_GNU_SOURCE -Icommon
LDLIBS = -lcurl -lmosquitto -lzstd -lz -lm

# BUILD=asan builds everything with ASan+UBSan into bin/asan/.
BUILD ?=
ifeq ($(BUILD),asan)
OUT = bin/asan
CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
OUT = bin
endif

TOOLS = og-fit og-meta og-metric og-pack og-pull og-unpack
LIBSRC = $(wildcard common/*.c)
LIBOBJ = $(LIBSRC:common/%.c=$(OUT)/obj/%.o)
LIB = $(OUT)/obj/libog.a
PROGS = $(TOOLS:%=$(OUT)/%)
UNITSRC = $(wildcard tests/unit/*.c)
UNITS = $(UNITSRC:tests/unit/%.c=$(OUT)/unit/%)

DEBS = build-essential libcurl4-openssl-dev libjsmn-dev libzstd-dev zlib1g-dev \
	bats bats-support bats-assert python3 tzdata gnuplot-nox parallel mawk \
	util-linux clang libclang-rt-14-dev openssl file chromium \
	python3-pandas python3-scipy python3-statsmodels openssh-server iproute2 \
	mandoc libmosquitto-dev mosquitto mosquitto-clients

all: $(PROGS) $(UNITS)

$(OUT)/obj/%.o: common/%.c common/og.h
	@mkdir -p $(@D)
	$(CC) $(OGFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(OUT)/og-%: src/og-%.c $(LIB) common/og.h
	$(CC) $(OGFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(OUT)/unit/%: tests/unit/%.c $(LIB) common/og.h
	@mkdir -p $(@D)
	$(CC) $(OGFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Installs the Debian packages og needs when they are missing.
deps:
	@missing=; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
			missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "og needs:$$missing"; \
		echo "run: sudo apt-get install$$missing"; exit 1; \
	fi

test: deps
	$(MAKE) all
	$(MAKE) BUILD=asan all
	tests/run

demo: deps all
	pipelines/demo

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man7
	cp -f $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	for t in $(TOOLS); do cp -f src/$$t.1 $(DESTDIR)$(MANPREFIX)/man1/; done
	cp -f src/og.7 $(DESTDIR)$(MANPREFIX)/man7/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$t $(DESTDIR)$(MANPREFIX)/man1/$$t.1; done
	rm -f $(DESTDIR)$(MANPREFIX)/man7/og.7

clean:
	rm -rf bin

# libFuzzer harnesses for the parsers (tests/fuzz/fuzz_*.c), built with
# clang and ASan+UBSan; each replays its kept regression inputs, then runs
# FUZZ_SECONDS on a corpus seeded from tests/data (og-pack makes the store
# seeds); what crashes is kept in tests/fuzz/crashes/ to become a test.
FUZZ_SECONDS ?= 20
FUZZCC = clang
FUZZFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZSRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS = $(FUZZSRC:tests/fuzz/%.c=bin/fuzz/%)
FUZZOBJ = $(LIBSRC:common/%.c=bin/fuzz/obj/%.o)

bin/fuzz/obj/%.o: common/%.c common/og.h
	@mkdir -p $(@D)
	$(FUZZCC) $(OGFLAGS) $(FUZZFLAGS) -c -o $@ $<

bin/fuzz/%: tests/fuzz/%.c $(FUZZOBJ)
	$(FUZZCC) $(OGFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZOBJ) $(LDLIBS)

fuzz: $(FUZZERS) $(OUT)/og-pack
	OG_BIN=$(OUT) tests/fuzz/run $(FUZZ_SECONDS) $(FUZZERS)

# Benchmarks against the anchors (tests/bench/run): a report, not a test.
# BENCH_SCALE=small for a quick check of the harness.  It installs its own
# anchors when it can (Debian packages as root, DuckDB from npm into
# ~/.cache/og-bench) and leaves a row empty, saying why, when it cannot.
bench: deps
	$(MAKE) all
	BENCH_SCALE=$(or $(BENCH_SCALE),full) tests/bench/run
.PHONY: bench

.PHONY: all deps test demo install uninstall clean fuzz
.SECONDARY: $(LIBOBJ) $(FUZZOBJ)
