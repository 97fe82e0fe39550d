# SPDX-License-Identifier: Apache-2.0
# yima: one plain, non-recursive GNU Makefile.
#   make            build build/libyima.a and build/yima-codegen
#   make test       build and run the whole test suite (same as make check)
#   make check-asan the suite under ASan+UBSan, in build-asan/
#   make demo       set-up, build, mint a demo batch and read a code back
#   make bench-codegen   print minting and rendering figures
#   make fuzz       build the libFuzzer targets and run each briefly

PREFIX	?= /usr/local
DESTDIR	?=
SYSCONFDIR ?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
CC	?= cc
WERROR	?= -Werror

ifeq ($(SANITIZE),1)
CC	:= clang
BUILD	?= build-asan
OPT	:= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
SANLD	:= -fsanitize=address,undefined
else
BUILD	?= build
OPT	:= -O2 -g -D_FORTIFY_SOURCE=2
SANLD	:=
endif

PKGS	:= libqrencode zbar libcrypto libpng jansson libmicrohttpd sqlite3 zlib libpq libcurl libsodium libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhpdf -lpthread -lm
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

WARN	:= -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wundef -Wcast-qual \
	   -Wnull-dereference -Wdeclaration-after-statement
CFLAGS	?=
CFLAGS	+= -std=c11 $(OPT) $(WARN) $(WERROR) -fstack-protector-strong \
	   -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude \
	   $(PKG_CFLAGS) -MMD -MP
LDFLAGS	?=
LDFLAGS	+= $(SANLD) -Wl,-z,relro -Wl,-z,now -Wl,--as-needed

LIB_SRC	:= $(filter-out codegen/main.c,$(wildcard codegen/*.c))
LIB_OBJ	:= $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TLIB_OBJ:= $(LIB_SRC:%.c=$(BUILD)/tobj/%.o)
LIB	:= $(BUILD)/libyima.a
CODEGEN	:= $(BUILD)/yima-codegen
API_SRC	:= $(filter-out scanapi/main.c,$(wildcard scanapi/*.c))
API_OBJ	:= $(API_SRC:%.c=$(BUILD)/obj/%.o)
TAPI_OBJ:= $(API_SRC:%.c=$(BUILD)/tobj/%.o)
SCANAPI	:= $(BUILD)/yima-scanapi

TEST_SRC:= $(wildcard tests/check_*.c)
TEST_OBJ:= $(TEST_SRC:%.c=$(BUILD)/tobj/%.o) $(BUILD)/tobj/tests/runner.o \
	   $(BUILD)/tobj/tests/testutil.o $(BUILD)/tobj/tests/srvutil.o
TEST_BIN:= $(BUILD)/check_yima
SUITES	:= $(patsubst tests/check_%.c,%,$(TEST_SRC))

BENCH	:= $(BUILD)/bench_codegen
FUZZ_SRC:= $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all codegen scanapi check test check-asan demo bench-codegen bench-scan bench-geo bench-report bench-epcis fuzz \
	clean install uninstall deps deb
.DEFAULT_GOAL := all

all: codegen scanapi
codegen: $(LIB) $(CODEGEN)
scanapi: $(SCANAPI)

# Tell the user how to get a missing library instead of a compiler error.
deps:
	@missing=""; for p in $(PKGS) check; do \
	  pkg-config --exists $$p || missing="$$missing $$p"; done; \
	  echo '#include <hpdf.h>' | $(CC) -E -x c - >/dev/null 2>&1 || \
	  missing="$$missing libhpdf(libharu)"; \
	if [ -n "$$missing" ]; then \
	  echo "missing libraries:$$missing" >&2; \
	  echo "run: sudo scripts/setup.sh   (installs the Debian packages)" >&2; \
	  exit 1; fi

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tobj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -DYIMA_TESTING -Itests -I$(BUILD)/tobj \
	  -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CODEGEN): $(BUILD)/obj/codegen/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SCANAPI): $(BUILD)/obj/scanapi/main.o $(API_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The runner learns the suites from the file names: no list to keep by hand.
$(BUILD)/tobj/suites.h: $(TEST_SRC) | deps
	@mkdir -p $(@D)
	@printf 'SUITE(%s)\n' $(SUITES) > $@.tmp && mv $@.tmp $@
$(BUILD)/tobj/tests/runner.o: $(BUILD)/tobj/suites.h

$(TEST_BIN): $(TEST_OBJ) $(TAPI_OBJ) $(TLIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

check: $(TEST_BIN) $(CODEGEN) $(SCANAPI)
	YIMA_CODEGEN=$(abspath $(CODEGEN)) YIMA_SCANAPI=$(abspath $(SCANAPI)) \
	  YIMA_WEB=$(abspath scanapi/web) YIMA_TEST_DATA=$(abspath tests/data) \
	  YIMA_REGIONS=$(abspath assets/regions.txt) \
	  YIMA_WEB_ASSETS=$(abspath assets/web) \
	  YIMA_NODE_MODULES=$(abspath assets/web/npm/node_modules) \
	  YIMA_BROWSER_TEST=$(abspath tests/browser/dashboard.mjs) \
	  YIMA_CONSOLE_TEST=$(abspath tests/browser/console.mjs) \
	  YIMA_ME_TEST=$(abspath tests/browser/me.mjs) \
	  YIMA_EPCIS_MODULES=$(abspath assets/epcis/npm/node_modules) \
	  YIMA_EPCIS_CHECK=$(abspath tests/epcis_check.mjs) \
	  YIMA_ARTIFACTS=$(abspath $(BUILD)/artifacts) \
	  YIMA_MAKE="$(MAKE) -C $(abspath .) SANITIZE=$(SANITIZE)" \
	  $(TEST_BIN)

# The README's test command: set-up first (a no-op once done), then check.
test:
	scripts/setup.sh
	$(MAKE) check

check-asan:
	scripts/setup.sh
	$(MAKE) SANITIZE=1 check

demo:
	scripts/setup.sh
	$(MAKE) all
	scripts/demo.sh $(BUILD)

$(BENCH): scripts/bench_codegen.c $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

bench-codegen: $(BENCH) $(CODEGEN)
	$(BENCH) $(BENCH_ARGS)

$(BUILD)/bench_hello: tests/bench/hello.c | deps
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(PKG_LIBS)

$(BUILD)/bench_geo: scripts/bench_geo.c $(API_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(API_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/bench_report: scripts/bench_report.c $(API_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(API_OBJ) $(LIB) $(PKG_LIBS)

bench-report: all $(BUILD)/bench_report
	BUILD=$(BUILD) scripts/bench_report.sh

bench-geo: $(BUILD)/bench_geo
	$(BUILD)/bench_geo $(or $(REGIONS),assets/regions.txt)

# DB=pg: one and two nodes on a throwaway PostgreSQL, SQLite beside them.
bench-scan: all $(BUILD)/bench_hello
	if [ "$(DB)" = pg ]; then BUILD=$(BUILD) scripts/bench_pg.sh; \
	else BUILD=$(BUILD) SYNC=$(SYNC) scripts/bench_scan.sh; fi

bench-epcis: all
	BUILD=$(BUILD) scripts/bench_epcis.sh

fuzz: | deps
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "fuzz: $$n for $${FUZZ_SECONDS:-30} s"; \
	  clang -std=c11 -g -O1 -Iinclude $(PKG_CFLAGS) \
	    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	    -fsanitize=fuzzer,address,undefined $$f $(LIB_SRC) \
	    -o build-fuzz/$$n $(PKG_LIBS) || exit 1; \
	  mkdir -p build-fuzz/$$n.corpus; \
	  build-fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-30} \
	    build-fuzz/$$n.corpus tests/fuzz/seeds || exit 1; done

# Man pages from the programs' own --help (scripts/man.sh).
MANS	:= $(BUILD)/man/yima-scanapi.1 $(BUILD)/man/yima-codegen.1
SHARE	:= $(DESTDIR)$(PREFIX)/share/yima

$(BUILD)/man/yima-scanapi.1: $(SCANAPI) scripts/man.sh
	@mkdir -p $(@D)
	scripts/man.sh $(SCANAPI) "the yima scan service and its admin commands" \
	  > $@.tmp && mv $@.tmp $@
$(BUILD)/man/yima-codegen.1: $(CODEGEN) scripts/man.sh
	@mkdir -p $(@D)
	scripts/man.sh $(CODEGEN) "mint, print and check yima QR codes" \
	  keygen mint verify read > $@.tmp && mv $@.tmp $@

# Everything serve needs, found from PREFIX/bin with no flag; the operator's
# configuration is never overwritten.
install: all $(MANS)
	@for f in assets/web/echarts.min.js assets/web/china.json \
	  assets/regions.txt; do [ -f $$f ] || { echo "install: $$f missing:" \
	  "run scripts/setup.sh" >&2; exit 1; }; done
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/web $(SHARE)/assets \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/yima $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0755 $(CODEGEN) $(DESTDIR)$(PREFIX)/bin/yima-codegen
	install -m 0755 $(SCANAPI) $(DESTDIR)$(PREFIX)/bin/yima-scanapi
	install -m 0644 scanapi/web/* $(SHARE)/web/
	install -m 0644 assets/web/echarts.min.js assets/web/china.json \
	  $(SHARE)/assets/
	install -m 0644 assets/regions.txt $(SHARE)/regions.txt
	install -m 0644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1/
	@# The units from one template, for this PREFIX; the node template
	@# (@) names its own configuration.
	sed 's|@BINDIR@|$(PREFIX)/bin|' etc/systemd/yima-scanapi.service.in \
	  > $(DESTDIR)$(UNITDIR)/yima-scanapi.service
	sed -e 's|@BINDIR@|$(PREFIX)/bin|' \
	  -e 's|^# yima-scanapi: .*|# yima-scanapi@NAME: one of several nodes on this host, each with its own /etc/yima/scanapi-NAME.conf.|' \
	  -e 's|^Description=.*|Description=yima scan service, node %i|' \
	  -e 's|/etc/yima/scanapi.conf|/etc/yima/scanapi-%i.conf|' \
	  etc/systemd/yima-scanapi.service.in \
	  > $(DESTDIR)$(UNITDIR)/yima-scanapi@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/yima-scanapi.service \
	  $(DESTDIR)$(UNITDIR)/yima-scanapi@.service
	install -m 0644 etc/scanapi.conf $(SHARE)/scanapi.conf.example
	install -m 0644 etc/logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/yima
	[ -e $(DESTDIR)$(SYSCONFDIR)/yima/scanapi.conf ] || \
	  install -m 0640 etc/scanapi.conf $(DESTDIR)$(SYSCONFDIR)/yima/scanapi.conf

# The Debian package in build/deb/, checked with lintian (scripts/deb.sh).
deb:
	scripts/deb.sh

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/yima-codegen \
	  $(DESTDIR)$(PREFIX)/bin/yima-scanapi \
	  $(DESTDIR)$(PREFIX)/share/man/man1/yima-scanapi.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/yima-codegen.1 \
	  $(DESTDIR)$(UNITDIR)/yima-scanapi.service \
	  $(DESTDIR)$(UNITDIR)/yima-scanapi@.service \
	  $(DESTDIR)$(SYSCONFDIR)/logrotate.d/yima
	rm -rf $(DESTDIR)$(PREFIX)/share/yima

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(TLIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) \
	 $(API_OBJ:.o=.d) $(TAPI_OBJ:.o=.d) $(BUILD)/obj/codegen/main.d \
	 $(BUILD)/obj/scanapi/main.d
