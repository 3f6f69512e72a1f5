# devsearch — build and run scaffolding (GNU make).
#
#   make            build $(BUILD)/devsearch, the test binary and the docs page's assets
#   make run        install deps, build, start a local PostgreSQL, migrate, serve
#   make test       install deps, build, run the test suite on a throwaway cluster,
#                   then the C suites again built with ASan/UBSan (LeakSanitizer on)
#                   into $(BUILD)/asan; the last line counts both runs
#   make asan       the whole suite built with ASan/UBSan into build/asan only
#   make fuzz       build the libFuzzer targets (tests/fuzz/) with clang into build/fuzz and
#                   fuzz each for FUZZ_SECONDS (default 60) from its seed corpus
#   make stop       stop the local PostgreSQL cluster started by `make run`
#   make clean      remove build/
#   make fmt-check  clang-format --dry-run --Werror over the sources
#   make data-model regenerate docs/data-model.svg from the migrated schema
#   make soak       minutes of mixed load on the server (SOAK_SECONDS, default 300):
#                   zero 5xx, no lost write, flat memory (docs/reliability.md);
#                   not part of `make test`
#   make test-cluster  two servers behind nginx, PgBouncer, a primary and a streaming
#                   replica on 127.0.0.1 (tests/cluster/run.sh, docs/deploy.md); also
#                   part of `make test`
#   make test-django  this server against the Django version (../shared/peer-drf): its
#                   data imported with `devsearch import-django`, both servers' JSON
#                   compared, passwords and tokens across (tests/django/run.sh,
#                   docs/from-django.md); also part of `make test`
#   make bench      the C server against the Django version with wrk, plus the ceilings
#                   (bench/README.md); not part of `make test`
#
# pkg-config is only evaluated lazily (and memoised) when a compile or link
# recipe needs it, so `make run`/`make test`/`make asan`/`make deps` work on a
# machine where the -dev packages are not installed yet: they install them
# first with scripts/deps.sh and then build through a recursive $(MAKE).

BUILD ?= build

SRC_DIRS := core api models serializers auth
SRCS     := $(wildcard core/*.c) $(wildcard api/*.c) $(wildcard models/*.c) \
            $(wildcard serializers/*.c) $(wildcard auth/*.c)
MAIN_SRC := core/main.c
LIB_SRCS := $(filter-out $(MAIN_SRC),$(SRCS))
TEST_SRCS := $(wildcard tests/*.c) $(wildcard tests/faults/*.c)

MAIN_OBJ  := $(MAIN_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

# Generated sources (in $(BUILD)/gen), linked into the library like the rest.
# Django's common passwords, from Debian's python3-django: scripts/common-passwords.sh.
GEN_OBJS  := $(BUILD)/obj/gen/common_passwords.o

DEPS      := $(MAIN_OBJ:.o=.d) $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(GEN_OBJS:.o=.d)

LIB      := $(BUILD)/libdevsearch.a
BIN      := $(BUILD)/devsearch
TEST_BIN := $(if $(TEST_SRCS),$(BUILD)/tests/check_all)

# GET /api/docs serves Swagger UI from files copied here at build time (no CDN):
# the listed files of node_modules/swagger-ui-dist plus our own assets/docs/.
# The names must match docs_assets[] in api/docs.c, the only names served.
DOCS_ASSETS      := $(BUILD)/docs-assets
SWAGGER_UI_DIR   := node_modules/swagger-ui-dist
SWAGGER_UI_FILES := swagger-ui.css swagger-ui-bundle.js swagger-ui-standalone-preset.js \
                    favicon-16x16.png favicon-32x32.png
DOCS_OWN_FILES   := init.js
DOCS_ASSET_FILES := $(addprefix $(DOCS_ASSETS)/,$(SWAGGER_UI_FILES) $(DOCS_OWN_FILES))

CC ?= cc
AR ?= ar

PKGS      := libulfius jansson libjwt libpq libargon2 libmicrohttpd libcrypto libcurl zlib
TEST_PKGS := check libcurl

# $(call pkgconfig,--cflags|--libs,packages): run pkg-config, fail loudly.
pkgconfig = $(call pkg_checked,$(shell pkg-config $(1) $(2) 2>/dev/null || echo __PKGCONFIG_FAILED__),$(2))
pkg_checked = $(if $(filter __PKGCONFIG_FAILED__,$(1)),$(error pkg-config failed for '$(2)'; install the dependencies with 'make deps' (scripts/deps.sh)),$(1))

# Lazy + memoised: evaluated at most once, and only when a recipe uses them.
PKG_CFLAGS       = $(eval PKG_CFLAGS := $(call pkgconfig,--cflags,$(PKGS)))$(PKG_CFLAGS)
PKG_LIBS         = $(eval PKG_LIBS := $(call pkgconfig,--libs,$(PKGS)))$(PKG_LIBS)
TEST_PKG_CFLAGS  = $(eval TEST_PKG_CFLAGS := $(call pkgconfig,--cflags,$(TEST_PKGS)))$(TEST_PKG_CFLAGS)
TEST_PKG_LIBS    = $(eval TEST_PKG_LIBS := $(call pkgconfig,--libs,$(TEST_PKGS)))$(TEST_PKG_LIBS)

EXTRA_CFLAGS  ?=
EXTRA_LDFLAGS ?=

CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -g \
         -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
         -Wcast-qual -Wpointer-arith -fno-common -I. \
         -DDEVSEARCH_SQL_DIR=\"$(CURDIR)/sql\" \
         -DDEVSEARCH_SOURCE_DIR=\"$(CURDIR)\" \
         -DDEVSEARCH_DOCS_ASSETS_DIR=\"$(abspath $(DOCS_ASSETS))\" \
         $(PKG_CFLAGS) $(EXTRA_CFLAGS)
DEPFLAGS   = -MMD -MP
LDFLAGS    = $(EXTRA_LDFLAGS)
LDLIBS     = $(PKG_LIBS) -lpthread
TEST_CFLAGS = -Itests $(TEST_PKG_CFLAGS)
TEST_LDLIBS = $(TEST_PKG_LIBS)

FMT_FILES := $(foreach d,$(SRC_DIRS) tests tests/fuzz tests/faults bench,$(wildcard $(d)/*.c) $(wildcard $(d)/*.h))

.DEFAULT_GOAL := all
.PHONY: all build docs-assets run test asan fuzz fuzz-build stop clean fmt-check deps bench soak test-cluster test-django
.DELETE_ON_ERROR:

all: build

build: $(BIN) $(TEST_BIN) docs-assets

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS)

# Rebuilt from scratch so objects of deleted sources never linger in it.
$(LIB): $(LIB_OBJS) $(GEN_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJS) $(GEN_OBJS)

$(BUILD)/tests/check_all: $(TEST_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(TEST_LDLIBS) $(LDLIBS)

# Test objects (more specific pattern wins over the generic one below).
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The list is cached in build/gen/common-passwords.txt (shared with the asan
# build), so only the first build downloads the package.
$(BUILD)/gen/common_passwords.c: scripts/common-passwords.sh
	@mkdir -p $(@D)
	scripts/common-passwords.sh $@

$(BUILD)/obj/gen/common_passwords.o: $(BUILD)/gen/common_passwords.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# Without node_modules (scripts/node-deps.sh) the binary still builds; the page says
# what is missing and the asset routes answer 404.
ifneq ($(wildcard $(SWAGGER_UI_DIR)/package.json),)
docs-assets: $(DOCS_ASSET_FILES)
else
docs-assets: $(addprefix $(DOCS_ASSETS)/,$(DOCS_OWN_FILES))
	@echo "docs assets missing: no $(SWAGGER_UI_DIR) (run scripts/node-deps.sh, or make deps);" \
	      "GET /api/docs will not render" >&2
endif

$(DOCS_ASSETS)/%: $(SWAGGER_UI_DIR)/%
	@mkdir -p $(@D)
	cp $< $@

$(DOCS_ASSETS)/%: assets/docs/%
	@mkdir -p $(@D)
	cp $< $@

-include $(DEPS)

deps:
	scripts/deps.sh
	scripts/node-deps.sh

run:
	scripts/deps.sh
	scripts/node-deps.sh
	$(MAKE) BUILD=$(BUILD) build
	BUILD=$(BUILD) scripts/run.sh

# The sanitizer build: any finding (UBSan included) stops the process with an
# error; scripts/test.sh turns LeakSanitizer on for build directories named *asan*.
ASAN_VARS := EXTRA_CFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1' \
             EXTRA_LDFLAGS='-fsanitize=address,undefined'

# The JavaScript suites test the HTTP contract, which the sanitizers do not
# change: under ASan only the C suites run again (scripts/test-all.sh).
test:
	scripts/deps.sh
	scripts/node-deps.sh
	$(MAKE) BUILD=$(BUILD) build
	$(MAKE) BUILD=$(BUILD)/asan $(ASAN_VARS) build
	scripts/test-all.sh $(BUILD) $(BUILD)/asan

asan:
	scripts/deps.sh
	scripts/node-deps.sh
	$(MAKE) BUILD=build/asan $(ASAN_VARS) build
	scripts/test.sh build/asan

soak:
	scripts/deps.sh
	scripts/deps.sh wrk
	$(MAKE) BUILD=$(BUILD) $(BIN)
	BUILD=$(BUILD) scripts/soak.sh

test-cluster:
	scripts/deps.sh
	$(MAKE) BUILD=$(BUILD) $(BIN)
	BUILD=$(BUILD) tests/cluster/run.sh

test-django:
	scripts/deps.sh
	$(MAKE) BUILD=$(BUILD) $(BIN)
	tests/django/run.sh $(BUILD)

stop:
	scripts/pg.sh stop var

# Fuzzing (tests/fuzz/README.md): the library again, compiled by clang with
# libFuzzer's coverage and ASan/UBSan, into build/fuzz; one binary per target.
FUZZ_BUILD    := build/fuzz
FUZZ_TARGETS  := serializers token multipart routing
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer -O1
FUZZ_BINS      = $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)

fuzz-build:
	scripts/deps.sh
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang EXTRA_CFLAGS='$(FUZZ_SANITIZE)' \
	        EXTRA_LDFLAGS='-fsanitize=fuzzer,address,undefined' fuzz-bins

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_input.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

fuzz:
	scripts/fuzz.sh run


# The benchmark's own programs: the HTTP ceiling server and the printer of the
# list page's SQL (it includes models/project.c, hence the dependency).
BENCH_BINS := $(BUILD)/bench/ceiling_http $(BUILD)/bench/list_sql $(BUILD)/bench/argon2_ceiling

$(BUILD)/bench/ceiling_http: bench/ceiling_http.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench/argon2_ceiling: bench/argon2_ceiling.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench/list_sql: bench/list_sql.c models/project.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench:
	scripts/deps.sh
	scripts/bench-deps.sh
	$(MAKE) BUILD=$(BUILD) $(BIN) $(BENCH_BINS)
	BUILD=$(BUILD) bench/run.sh

clean:
	rm -rf build

fmt-check:
ifneq ($(strip $(FMT_FILES)),)
	clang-format --dry-run --Werror $(FMT_FILES)
else
	@echo "fmt-check: no sources to check"
endif

.PHONY: data-model
data-model: $(BIN)
	BUILD=$(BUILD) scripts/data-model.sh
