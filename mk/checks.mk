# mk/checks.mk (included by the Makefile): the builds of `make test`
# besides the dynamic module. See t/README.md, "Static, sanitizer and fuzz
# builds".
#
#   make test-static   nginx built from Debian's nginx source package with
#                      the module linked in (--add-module), nginx and module
#                      compiled with clang -fsanitize=address,undefined;
#                      the whole suite against it (build/static/nginx)
#   make fuzz          the libFuzzer targets of fuzz/, FUZZ_SECONDS each
#   make check-config  the sources `config` lists are those of src/
#
# One build serves both the static module and the sanitizers: what a
# static build checks (the module's place among nginx's filters) does not
# depend on the compiler's instrumentation, and the sanitizers see nginx
# and the module alike. Its objects are also what the fuzzers link with.

STATIC       := $(BUILD)/static
STATIC_SRC   := $(STATIC)/src
STATIC_OBJS  := $(STATIC_SRC)/objs
STATIC_NGINX := $(STATIC)/nginx
FUZZ_BUILD   := $(BUILD)/fuzz

FUZZ_SECONDS ?= 20
FUZZ_TARGETS := path range etag

# clang (libFuzzer and its sanitizer runtimes), llvm-symbolizer (file:line
# in reports), dpkg-dev (dpkg-source, for apt-get source)
CHECK_PKGS   := clang llvm libclang-rt-14-dev dpkg-dev

SAN_FLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer
# NGX_DEBUG_PALLOC: every pool allocation is a malloc() of its own, so that
# AddressSanitizer sees a byte past any of them (nginx's pools otherwise
# carve small allocations out of shared blocks)
STATIC_CC_OPT := -g -O1 $(SAN_FLAGS) -DNGX_DEBUG_PALLOC=1
STATIC_LD_OPT := $(SAN_FLAGS)

# a sub-make of nginx's: as many jobs as CPUs, unless make runs with -j
NGX_JOBS     := $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

# the fuzzers: instrumented for coverage; undefined behaviour stops them
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
                -I $(STATIC_SRC)/src/core -I $(STATIC_SRC)/src/event \
                -I $(STATIC_SRC)/src/event/modules -I $(STATIC_SRC)/src/os/unix \
                -I $(STATIC_OBJS) -I $(STATIC_SRC)/src/http \
                -I $(STATIC_SRC)/src/http/modules -I $(STATIC_SRC)/src/http/v2 \
                -I $(ROOT)/src
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(ROOT)/mk/ubsan.supp

.PHONY: test-dynamic test-static static fuzz fuzz-build check-deps check-config

check-deps: deps
	$(call ensure_pkgs,$(CHECK_PKGS))

# `config` lists its sources (no glob): a file of src/ missing there would
# build a module that fails to load with an undefined symbol.
check-config:
	@listed=$$(grep -o '\$$ngx_addon_dir/[A-Za-z0-9_./-]*\.[ch]' config \
	               | sed 's|^\$$ngx_addon_dir/||' | sort -u); \
	present=$$(ls ngx_http_hf_module.c src/*.c src/*.h | sort -u); \
	if [ "$$listed" != "$$present" ]; then \
	    echo "config does not list the sources of src/ (add or remove them in HF_SRCS/HF_DEPS):"; \
	    diff <(echo "$$listed") <(echo "$$present") | sed -n 's/^> /  not in config: /p; s/^< /  in config, missing: /p'; \
	    exit 1; \
	fi

$(BUILD)/nginx/objs/Makefile $(STATIC_OBJS)/Makefile: | check-config

# ---------------------------------------------------------------- static

# Debian's nginx source package (apt-get source, see mk/nginx-source)
$(STATIC_SRC)/.debian-version: | check-deps
	mkdir -p $(STATIC)
	$(ROOT)/mk/nginx-source $(STATIC_SRC)

# configure again when the flags above change
STATIC_FLAGS := --with-cc=clang --with-cc-opt='$(STATIC_CC_OPT)' --with-ld-opt='$(STATIC_LD_OPT)'
$(shell mkdir -p $(STATIC); echo "$(STATIC_FLAGS)" | cmp -s - $(STATIC)/flags \
    || echo "$(STATIC_FLAGS)" > $(STATIC)/flags)

# Debian's configure flags: nginx-dev's conf_flags, plus the modules that
# Debian's nginx binary has built in (nginx -V: sub, addition, gunzip,
# gzip_static...; not its dynamic ones), so that the module sits among the
# same filters as in Debian's nginx; then the module, linked in.
$(STATIC_OBJS)/Makefile: $(STATIC_SRC)/.debian-version config $(STATIC)/flags \
                         $(wildcard $(NGX_SRC)/conf_flags)
	cd $(STATIC_SRC) && . $(NGX_SRC)/conf_flags && \
	extra=$$($(NGINX) -V 2>&1 | sed -n 's/^configure arguments: //p' | tr ' ' '\n' \
	         | grep -E '^--with-[a-z0-9_]+$$' | sort -u) && \
	./configure "$${NGX_CONF_FLAGS[@]}" $$extra $(STATIC_FLAGS) \
	    --add-module=$(ROOT) > $(STATIC)/configure.log 2>&1 \
	    || { tail -20 $(STATIC)/configure.log; exit 1; }

$(STATIC_OBJS)/nginx: $(STATIC_OBJS)/Makefile $(HF_SRCS)
	@echo "building nginx with the module linked in, with ASan and UBSan ($(STATIC))"
	$(MAKE) -s $(NGX_JOBS) -C $(STATIC_SRC) -f objs/Makefile binary > $(STATIC)/make.log 2>&1 \
	    || { grep -E -B2 -A6 'error|warning' $(STATIC)/make.log | head -60; exit 1; }

$(STATIC_NGINX): mk/nginx-san $(STATIC_OBJS)/nginx
	cp mk/nginx-san $@.tmp && chmod +x $@.tmp && mv -f $@.tmp $@

static: $(STATIC_NGINX)

# HF_MODULE empty: no load_module line, the module is in the binary
test-static: $(STATIC_NGINX) $(BUILD)/hf-meta test-deps
	TEST_NGINX_BINARY=$(STATIC_NGINX) HF_MODULE= prove $(PROVE_FLAGS) t/

# ---------------------------------------------------------------- fuzz

# the module's files under test: compiled into each fuzzer, with coverage
FUZZ_SRCS    := src/ngx_http_hf_path.c src/ngx_http_hf_util.c

# nginx and the module from build/static, less the files the fuzzers compile
# themselves, and nginx.o with its main() renamed
$(FUZZ_BUILD)/libngx.a: $(STATIC_OBJS)/nginx
	rm -rf $(FUZZ_BUILD)/objs && mkdir -p $(FUZZ_BUILD)/objs
	objcopy --redefine-sym main=ngx_nginx_main $(STATIC_OBJS)/src/core/nginx.o \
	    $(FUZZ_BUILD)/objs/nginx-nomain.o
	rm -f $@ && find $(STATIC_OBJS) -name '*.o' ! -name nginx.o \
	    $(foreach f,$(FUZZ_SRCS),! -name $(notdir $(f:.c=.o))) \
	    | xargs ar rcs $@ $(FUZZ_BUILD)/objs/nginx-nomain.o
	@# the libraries of nginx's own link line
	awk '/\$$\(LINK\) -o objs\/nginx/ { f = 1; next } f && /^$$/ { exit } f' \
	    $(STATIC_OBJS)/Makefile | grep -v 'objs/' | tr -d '\\\t' | tr '\n' ' ' > $(FUZZ_BUILD)/libs

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_BUILD)/libngx.a $(HF_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) $(FUZZ_BUILD)/libngx.a \
	    $$(cat $(FUZZ_BUILD)/libs)

fuzz-build: check-deps $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))

# Each target runs FUZZ_SECONDS from fuzz/corpus/TARGET (the seeds) and
# build/fuzz/corpus/TARGET (what earlier runs found), with fuzz/TARGET.dict.
# A crash, a sanitizer report or a failed invariant stops it: the input is
# saved as build/fuzz/crash-TARGET-*, and `make fuzz` fails naming it.
fuzz: fuzz-build
	@failed=; \
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	    if $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=8192 -timeout=10 -print_final_stats=1 -dict=fuzz/$$t.dict \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	        $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t > $(FUZZ_BUILD)/$$t.log 2>&1; then \
	        echo "  $$(grep -E '^(Done|stat::new_units_added|stat::peak_rss_mb)' \
	            $(FUZZ_BUILD)/$$t.log | tr '\n' ' ')"; \
	    else \
	        grep -v '^#[0-9]' $(FUZZ_BUILD)/$$t.log | tail -60; \
	        echo "fuzz $$t FAILED: reproduce with $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_BUILD)/crash-$$t-*"; \
	        failed="$$failed $$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets, no crash"
