# SPDX-License-Identifier: MIT
# warren: one entry point. `make` builds into build/; `make run` starts the
# broker on etc/warren.conf; `make test` builds and runs every test.
# Both install their Debian packages first when run as root
# (scripts/deps.sh), and otherwise print the apt-get line to run.

BUILD ?= build
CC ?= cc
PYTHON ?= /usr/bin/python3
SANITIZE ?=
# Extra flags for a sanitizer build (make asan / make ubsan set them).
SANFLAGS ?=

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CFLAGS ?= -O2 -g
# -fvisibility=hidden: libwarren.so exports only what warren.h marks
# WARREN_EXPORT (the warren_* API); static linking is unaffected.
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden \
	$(SANFLAGS)
LDFLAGS += $(SANFLAGS)
PKGS_BROKER = libevent libevent_openssl openssl jansson
PKGS_CLI = libcurl jansson
BROKER_CFLAGS = $(shell pkg-config --cflags $(PKGS_BROKER) 2>/dev/null)
# -pthread: store/ syncs on a thread of its own.
BROKER_LIBS = $(shell pkg-config --libs $(PKGS_BROKER) 2>/dev/null) -lm -pthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
SSL_LIBS = $(shell pkg-config --libs openssl 2>/dev/null)
CLI_CFLAGS = $(shell pkg-config --cflags $(PKGS_CLI) 2>/dev/null)
CLI_LIBS = $(shell pkg-config --libs $(PKGS_CLI) 2>/dev/null)

# The server's layers, bottom up (each folder includes only those before
# it; scripts/check-style.sh checks that): common protocol store queues
# exchanges (libwrcore.a), then auth runtime vhost amqp mgmt broker
# (libwrbroker.a, with main.c apart).
COMMON_SRC = $(wildcard common/*.c)
PROTO_SRC = $(wildcard protocol/*.c)
STORE_SRC = $(wildcard store/*.c)
QUEUES_SRC = $(wildcard queues/*.c)
EXCH_SRC = $(wildcard exchanges/*.c)
AUTH_SRC = $(wildcard auth/*.c)
RUNTIME_SRC = $(wildcard runtime/*.c)
VHOST_SRC = $(wildcard vhost/*.c)
AMQP_SRC = $(wildcard amqp/*.c)
MGMT_SRC = $(wildcard mgmt/*.c)
BROKER_SRC = $(AUTH_SRC) $(RUNTIME_SRC) $(VHOST_SRC) $(AMQP_SRC) $(MGMT_SRC) \
	$(filter-out broker/main.c,$(wildcard broker/*.c))
CORE_SRC = $(COMMON_SRC) $(PROTO_SRC) $(STORE_SRC) $(QUEUES_SRC) $(EXCH_SRC)
CLIENT_SRC = $(wildcard client/*.c)
CLI_SRC = $(wildcard cli/*.c)
BENCH_SRC = $(wildcard bench/*.c)
UNIT_SRC = $(wildcard tests/unit/check_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CORE_OBJ = $(call obj,$(CORE_SRC))
BROKER_OBJ = $(call obj,$(BROKER_SRC))
CLIENT_OBJ = $(call obj,$(COMMON_SRC) $(PROTO_SRC) $(CLIENT_SRC))
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

PROGRAMS = $(BUILD)/warren-server $(BUILD)/warrenctl $(BUILD)/warren-bench

# libwarren.so.$(WARREN_VERSION) is the file, libwarren.so.$(SOVERSION) its
# soname (what programs record and load), libwarren.so the link-time name.
# Bump SOVERSION when a warren_* function or public struct changes in a way
# that breaks programs built against the old one.
WARREN_VERSION = $(shell sed -n 's/^\#define WARREN_VERSION "\(.*\)"/\1/p' client/warren.h)
SOVERSION = 0
LIB_SONAME = libwarren.so.$(SOVERSION)
LIB_REAL = libwarren.so.$(WARREN_VERSION)
LIBS = $(BUILD)/libwarren.a $(BUILD)/$(LIB_REAL) $(BUILD)/$(LIB_SONAME) \
	$(BUILD)/libwarren.so

.PHONY: all run install deb test check test-unit test-proto test-interop test-soak soak \
	test-security test-admin test-browser ui-screenshots test-style test-lib \
	bench asan ubsan valgrind fuzz format format-check deps deps-run \
	clean gen FORCE

all: $(PROGRAMS) $(LIBS)

deps:
	@sh scripts/deps.sh test
deps-run:
	@sh scripts/deps.sh run

# Objects depend on the compiler and its flags too: a change to either
# (here or on the command line) rebuilds them.
$(BUILD)/cflags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/gen $(BROKER_CFLAGS) $(CLI_CFLAGS) -MMD -MP -c $< -o $@

# RabbitMQ's rabbitmq.conf keys (scripts/rabbit-keys.sh) as C strings.
%/gen/rabbit_keys.inc: runtime/rabbit_keys.txt
	@mkdir -p $(dir $@)
	sed -e '/^#/d' -e 's/.*/"&",/' $< > $@
$(BUILD)/obj/runtime/rabbit_keys.o: $(BUILD)/gen/rabbit_keys.inc

$(BUILD)/libwrcore.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libwrbroker.a: $(BROKER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^ $(if $^,,$(call obj,common/bytes.c))

$(BUILD)/warren-server: $(call obj,broker/main.c) $(BUILD)/libwrbroker.a $(BUILD)/libwrcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(BROKER_LIBS)

$(BUILD)/libwarren.a: $(CLIENT_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/$(LIB_REAL): $(CLIENT_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) -o $@ $^ $(SSL_LIBS)
$(BUILD)/$(LIB_SONAME): $(BUILD)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $@
$(BUILD)/libwarren.so: $(BUILD)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $@

$(BUILD)/warrenctl: $(call obj,$(CLI_SRC)) $(BUILD)/libwarren.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS) $(SSL_LIBS)
$(BUILD)/warren-bench: $(call obj,$(BENCH_SRC)) $(BUILD)/libwarren.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) -lm

# The store's own benchmark (docs/internals/STORE.md "Measured"): built with
# everything, run by hand, never by make test.
all: $(BUILD)/store-bench
$(BUILD)/store-bench: $(call obj,tests/perf/store_bench.c) $(BUILD)/libwrcore.a
	$(CC) $(LDFLAGS) -o $@ $^ -pthread

# Unit tests: one Check suite per module, built into check_NAME. The suite
# and main() are in tests/unit/check_NAME.c; a suite too big for one file
# keeps its test cases in tests/unit/NAME/*.c (one TCase builder each)
# with what they share in tests/unit/NAME/*.h, and every file there is
# part of it. check_client* suites link libwarren; the rest link the
# broker + core.
is_client = $(filter client%,$(1))
suite_files = tests/unit/check_$(1).c $(wildcard tests/unit/$(1)/*.[ch])
suite_libs = $(if $(call is_client,$(1)),$(BUILD)/libwarren.a,\
	$(BUILD)/libwrbroker.a $(BUILD)/libwrcore.a)
.SECONDEXPANSION:
$(BUILD)/tests/check_%: $$(call suite_files,$$*) $$(call suite_libs,$$*) \
		$(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(if $(call is_client,$*),,$(BROKER_CFLAGS)) -o $@ \
	    $(filter %.c %.a,$^) $(LDFLAGS) $(CHECK_LIBS) \
	    $(if $(call is_client,$*),$(SSL_LIBS),$(BROKER_LIBS))

# ---- libwarren: examples, install with a pkg-config file ----------------
EXAMPLES = producer consumer rpc_client rpc_server
EXAMPLE_BIN = $(patsubst %,$(BUILD)/examples/%,$(EXAMPLES))
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

all: $(EXAMPLE_BIN)

# The examples build as an application would: <warren.h> and the shared
# library, so that they use nothing it does not export. They find it in
# the build directory when run ($ORIGIN/..).
$(BUILD)/examples/%: examples/%.c client/warren.h $(BUILD)/libwarren.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iclient -o $@ $< -L$(BUILD) -lwarren \
	    -Wl,-rpath,'$$ORIGIN/..' $(LDFLAGS)

# check_client starts $(BUILD)/warren-server; test_examples.py runs these.
test-unit: $(BUILD)/warren-server
test-interop: export WARREN_EXAMPLES = $(abspath $(BUILD)/examples)
test-interop: $(EXAMPLE_BIN)

# Where make install puts things (all under DESTDIR when set). make deb
# installs with PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system.
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(PREFIX)/etc
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANPAGES = man/warren-server.8 man/warren.conf.5 man/warrenctl.1 man/libwarren.3

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(SYSCONFDIR)/warren \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(PREFIX)/share/doc/warren/internals \
	    $(foreach s,1 3 5 8,$(DESTDIR)$(MANDIR)/man$(s))
	install -m 755 $(BUILD)/warren-server $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BUILD)/warrenctl $(BUILD)/warren-bench $(DESTDIR)$(BINDIR)/
	@# the web UI, found by warren-server as ../share/warren/ui next to it
	cd mgmt/ui && find . -type d -exec install -d \
	    '$(DESTDIR)$(PREFIX)/share/warren/ui/{}' ';' && \
	  find . -type f -exec install -m 644 '{}' \
	    '$(DESTDIR)$(PREFIX)/share/warren/ui/{}' ';'
	install -m 644 client/warren.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libwarren.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libwarren.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(WARREN_VERSION)|g' \
	    client/warren.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/warren.pc
	install -m 644 etc/warren.conf $(DESTDIR)$(SYSCONFDIR)/warren/
	install -m 644 etc/logrotate.d/warren $(DESTDIR)$(SYSCONFDIR)/logrotate.d/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@UNITDIR@|$(UNITDIR)|g' etc/systemd/warren-server.service.in \
	    > $(DESTDIR)$(UNITDIR)/warren-server.service
	for m in $(MANPAGES); do s=$${m##*.}; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/warren/
	install -m 644 docs/internals/*.md \
	    $(DESTDIR)$(PREFIX)/share/doc/warren/internals/

# A Debian package, build/warren_VERSION_ARCH.deb: make install staged with
# Debian's paths, plus packaging/debian (control, maintainer scripts).
deb: all
	@BUILD="$(BUILD)" MAKE="$(MAKE)" VERSION="$(WARREN_VERSION)" sh scripts/mkdeb.sh

# make run ARGS="--port 5673 --mgmt-port 15673": flags win over the file.
run: deps-run $(BUILD)/warren-server
	$(BUILD)/warren-server --config etc/warren.conf --data-dir $(BUILD)/data $(ARGS)

# Every part runs, even after one failed; the last line is the total,
# "N passed, N failed" (scripts/test-summary.py, from the JUnit XML the
# pytest suites write and the Check summaries in $(RESULTS)), and make
# test fails when anything did.
RESULTS = $(BUILD)/results
TEST_PARTS = test-style format-check test-lib test-unit test-proto \
	test-interop test-security test-admin test-browser test-soak
test check: deps
	$(MAKE) all $(UNIT_BIN)
	@rm -rf $(RESULTS); mkdir -p $(RESULTS); \
	for t in $(TEST_PARTS); do \
	  if $(MAKE) --no-print-directory $$t; then r=ok; else r=failed; fi; \
	  echo "$$t $$r" >> $(RESULTS)/targets; \
	done; \
	$(PYTHON) scripts/test-summary.py $(RESULTS)

test-style:
	@sh scripts/check-style.sh

# libwarren.so: exports, soname, and make install + pkg-config as an
# application would use them (tests/client/check_lib.sh).
test-lib: $(LIBS)
	@CC="$(CC)" APP_FLAGS="$(SANFLAGS)" MAKE="$(MAKE)" BUILD="$(BUILD)" \
	  sh tests/client/check_lib.sh

# Each suite's output is kept in $(RESULTS)/unit.log too (for the total).
test-unit: $(UNIT_BIN)
	@mkdir -p $(RESULTS); rm -f $(RESULTS)/unit.log; fail=0; \
	for t in $(UNIT_BIN); do echo "== $$t"; \
	  $$t > $(RESULTS)/unit.part 2>&1 || fail=1; \
	  cat $(RESULTS)/unit.part; cat $(RESULTS)/unit.part >> $(RESULTS)/unit.log; \
	done; rm -f $(RESULTS)/unit.part; exit $$fail

test-proto: $(BUILD)/warren-server
	WARREN_SERVER=$(BUILD)/warren-server $(PYTHON) -m pytest -q -p no:cacheprovider tests/proto \
	  --junitxml=$(RESULTS)/proto.xml

# amqplib for tests/interop/test_amqplib.py, as pinned by its lock file:
# installed when node_modules is missing or older than package-lock.json.
NODE_DIR = tests/interop/node
$(NODE_DIR)/node_modules: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

test-interop: $(BUILD)/warren-server $(NODE_DIR)/node_modules
	WARREN_SERVER=$(BUILD)/warren-server $(PYTHON) -m pytest -q -p no:cacheprovider tests/interop \
	  --junitxml=$(RESULTS)/interop.xml

# TLS, users and permissions, configuration errors, flow control; each test
# starts its own broker (certificates are made at test time by openssl).
test-security: $(BUILD)/warren-server $(BUILD)/warrenctl
	WARREN_SERVER=$(BUILD)/warren-server WARRENCTL=$(BUILD)/warrenctl $(PYTHON) -m pytest -q -p no:cacheprovider tests/security \
	  --junitxml=$(RESULTS)/security.xml

test-admin: $(BUILD)/warren-server $(BUILD)/warrenctl
	WARREN_SERVER=$(BUILD)/warren-server WARRENCTL=$(BUILD)/warrenctl $(PYTHON) -m pytest -q -p no:cacheprovider tests/admin \
	  --junitxml=$(RESULTS)/admin.xml

# The web UI in Debian's chromium, headless, driven by playwright-core as
# pinned by tests/browser/package-lock.json (npm ci when node_modules is
# missing or older than the lock file). Screenshots: build/browser-artifacts.
BROWSER_DIR = tests/browser
$(BROWSER_DIR)/node_modules: $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund
	@touch $@

test-browser: $(BUILD)/warren-server $(BROWSER_DIR)/node_modules
	WARREN_SERVER=$(BUILD)/warren-server WARREN_UI_ARTIFACTS=$(abspath $(BUILD)/browser-artifacts) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/browser \
	  --junitxml=$(RESULTS)/browser.xml

# docs/ui/*.png: a broker with some traffic, one screenshot per tab (about
# 90 s: the charts need a minute of samples).
ui-screenshots: $(BUILD)/warren-server $(BROWSER_DIR)/node_modules
	WARREN_SERVER=$(BUILD)/warren-server $(PYTHON) tests/browser/docs_screenshots.py

# No-loss soak (tests/soak): confirmed publishes, consumers SIGKILLed at
# random; a short one in make test, 200,000 messages a queue in make soak.
# Then the kill loop (issue 15): the broker itself SIGKILLed and restarted
# at random on its data_dir, durable FIFO, priority and stream queues,
# SOAK_KILL_MESSAGES each at SOAK_KILL_RATE a second (a few minutes).
test-soak: $(BUILD)/warren-server
	WARREN_SERVER=$(BUILD)/warren-server $(PYTHON) -m pytest -q -s -p no:cacheprovider tests/soak \
	  --junitxml=$(RESULTS)/soak.xml

SOAK_MESSAGES ?= 200000
SOAK_KILL_MESSAGES ?= 50000
SOAK_KILL_RATE ?= 1000
soak: deps $(BUILD)/warren-server
	WARREN_SERVER=$(BUILD)/warren-server nice $(PYTHON) tests/soak/soak.py --messages $(SOAK_MESSAGES)
	WARREN_SERVER=$(BUILD)/warren-server nice $(PYTHON) tests/soak/soak.py --kill-broker \
	  --messages $(SOAK_KILL_MESSAGES) --rate $(SOAK_KILL_RATE)

SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g
asan ubsan:
	WARREN_SANITIZED=1 $(MAKE) BUILD=build-asan CC=clang SANFLAGS="$(SAN)" CFLAGS="-O1 -g" test

# The unit tests under valgrind (CK_FORK=no), then every suite that starts
# its own brokers -- proto, interop (pika, amqp-tools, the examples),
# security (TLS, users, permissions, flow control), admin (management API,
# warrenctl) and soak -- with each of those brokers running under valgrind
# (scripts/valgrind-server.sh); any error or leak it reports fails the
# target. Only the broker is under valgrind: warrenctl, warren-bench and
# the examples come from $(BUILD). WARREN_UNDER_VALGRIND makes the tests
# widen their waits and time windows (tests/proto/broker.py: SLOW). Those
# four run in full; the no-loss soak runs a tenth of make test's (2,000
# messages a queue at 500/s, consumers still SIGKILLed and their unacked
# messages requeued), enough for the paths and not a throughput run. About
# 6 minutes on 2 cores (proto 1, interop 1.5, security 2.5, admin 1, soak
# 0.2, the build and unit tests 1).
VG_LOGS = $(abspath build-valgrind/vg-logs)
VG_SUITES = proto interop security admin soak
VG_ENV = WARREN_SERVER=scripts/valgrind-server.sh WARREN_VALGRIND_LOGS=$(VG_LOGS) \
	WARREN_SOAK_MESSAGES=2000 WARREN_SOAK_RATE=500 \
	WARREN_SOAK_KILL_MESSAGES=1000 WARREN_SOAK_KILL_RATE=100 \
	WARREN_UNDER_VALGRIND=1 WARREN_TEST_TIMEOUT=300 \
	WARREN_TEST_READY_TIMEOUT=60 WARREN_TEST_STOP_TIMEOUT=60 \
	WARRENCTL=$(abspath $(BUILD)/warrenctl) \
	WARREN_EXAMPLES=$(abspath $(BUILD)/examples)
valgrind: deps $(NODE_DIR)/node_modules
	$(MAKE) all
	$(MAKE) BUILD=build-valgrind CFLAGS="-O1 -g -DWR_NO_SMALL_CACHE" build-valgrind/warren-server \
	  $(patsubst $(BUILD)/%,build-valgrind/%,$(UNIT_BIN))
	@set -e; for t in $(patsubst $(BUILD)/%,build-valgrind/%,$(UNIT_BIN)); do \
	  echo "== $$t"; CK_FORK=no valgrind -q --leak-check=full --error-exitcode=1 \
	  --suppressions=tests/valgrind.supp $$t; done
	rm -rf $(VG_LOGS)
	@fail=0; for s in $(VG_SUITES); do echo "== tests/$$s, brokers under valgrind"; \
	  $(VG_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider tests/$$s || fail=1; \
	  done; \
	  for f in $(VG_LOGS)/*.log; do [ -s "$$f" ] || continue; \
	  echo "== valgrind: $$f"; cat "$$f"; fail=1; done; \
	  [ $$fail -eq 0 ] && echo "valgrind: no errors in $$(ls $(VG_LOGS) | wc -l) broker runs"; \
	  exit $$fail

FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60
FUZZ_CC = clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC)
	@mkdir -p build-fuzz
	$(FUZZ_CC) -o $@ $^
# Recovery over arbitrary segment bytes.
build-fuzz/fuzz_store: tests/fuzz/fuzz_store.c $(STORE_SRC) $(COMMON_SRC)
	@mkdir -p build-fuzz
	$(FUZZ_CC) -pthread -o $@ $^
# The configuration parser and the logger it reports through.
FUZZ_CONFIG_SRC = runtime/config.c runtime/config_service.c runtime/rabbit_keys.c \
	runtime/log.c runtime/log_sink.c
build-fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_CONFIG_SRC) $(COMMON_SRC) \
		build-fuzz/gen/rabbit_keys.inc
	@mkdir -p build-fuzz
	$(FUZZ_CC) -Ibuild-fuzz/gen -o $@ $(filter %.c,$^)
# A whole connection: the broker on libevent, with no sockets.
build-fuzz/fuzz_conn: tests/fuzz/fuzz_conn.c $(BROKER_SRC) $(CORE_SRC) \
		build-fuzz/gen/rabbit_keys.inc
	@mkdir -p build-fuzz
	$(FUZZ_CC) -Ibuild-fuzz/gen $(BROKER_CFLAGS) -o $@ $(filter %.c,$^) $(BROKER_LIBS)
# Durable definitions read back from defs/, replayed into a registry.
build-fuzz/fuzz_defs: tests/fuzz/fuzz_defs.c $(BROKER_SRC) $(CORE_SRC) \
		build-fuzz/gen/rabbit_keys.inc
	@mkdir -p build-fuzz
	$(FUZZ_CC) -Ibuild-fuzz/gen $(BROKER_CFLAGS) -o $@ $(filter %.c,$^) $(BROKER_LIBS)
# The management API's request bodies, through its handlers (evhttp on a
# UNIX socket; no TCP port).
build-fuzz/fuzz_mgmt_json: tests/fuzz/fuzz_mgmt_json.c $(BROKER_SRC) $(CORE_SRC) \
		build-fuzz/gen/rabbit_keys.inc
	@mkdir -p build-fuzz
	$(FUZZ_CC) -Ibuild-fuzz/gen $(BROKER_CFLAGS) -o $@ $(filter %.c,$^) $(BROKER_LIBS)
# New inputs go to build-fuzz/corpus-NAME; the committed seeds in
# tests/fuzz/corpus/NAME are only read (merge new finds in by hand with
# -merge=1 when they are worth keeping). A crash, leak or timeout fails
# the target: its input is build-fuzz/NAME-crash-* (keep it in the
# corpus as crash_<what> once fixed), its log build-fuzz/NAME.log. See
# docs/internals/FUZZING.md.
fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p build-fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; rc=0; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/$$n- \
	    build-fuzz/corpus-$$n tests/fuzz/corpus/$$n \
	    > build-fuzz/$$n.log 2>&1 || rc=$$?; \
	  grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' \
	    build-fuzz/$$n.log || true; \
	  if [ $$rc -ne 0 ]; then tail -40 build-fuzz/$$n.log; \
	    echo "$$n failed (exit $$rc), log: build-fuzz/$$n.log"; exit 1; fi; \
	done

bench: all
	$(PYTHON) bench/run.py

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRC)

gen:
	$(PYTHON) tools/gen_methods.py && clang-format -i protocol/methods_gen.c protocol/methods_gen.h

clean:
	rm -rf build build-asan build-valgrind build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
