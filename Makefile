# ngx_http_hf_module: build, run and test.
#
#   make          build build/ngx_http_hf_module.so against Debian's nginx-dev
#   make run      build, then run nginx with conf.example in the foreground
#   make test     build, then run every test under t/ with prove: against the
#                 dynamic module (make test-dynamic), then against nginx built
#                 with the module linked in and ASan/UBSan (make test-static),
#                 then the fuzzers (make fuzz); see mk/checks.mk
#   make bench    benchmarks against plain nginx (see bench/)
#
# Missing Debian packages are installed when running as root; otherwise
# the build stops and names them.

SHELL      := /bin/bash
ROOT       := $(CURDIR)
BUILD      := $(ROOT)/build
NGX_SRC    := /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
MODULE     := $(BUILD)/ngx_http_hf_module.so

PORT       ?= 8080
HF_UPSTREAM ?= https://huggingface.co
RUNDIR     ?= $(ROOT)/run
RESOLVER   ?= $(shell awk '/^nameserver/ { print $$2; exit }' /etc/resolv.conf 2>/dev/null || echo 127.0.0.53)

PROVE_FLAGS ?= -r

# Debian packages: to build, to run, to test.
BUILD_PKGS := nginx nginx-dev gcc make libc6-dev liblmdb-dev libssl-dev \
              libjansson-dev libpcre2-dev zlib1g-dev libcurl4-openssl-dev
TEST_PKGS  := perl python3 python3-venv curl lmdb-utils
BENCH_PKGS := valgrind linux-perf

# t/110-python-clients.t: the Python clients pinned in t/clients/requirements.txt,
# in a virtual environment of Debian's python3 inside the build tree
PYENV      := $(BUILD)/pyenv
PY_REQS    := t/clients/requirements.txt
VENV_PYTHON ?= /usr/bin/python3

HF_SRCS    := config ngx_http_hf_module.c $(wildcard src/*.c src/*.h)

.PHONY: all build deps test-deps bench-deps run test bench clean

all: build
build: $(MODULE) $(BUILD)/hf-meta $(BUILD)/hf-cache

define ensure_pkgs
	@missing=""; \
	for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing:$$missing"; \
	        apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
	            >/dev/null || exit 1; \
	    else \
	        echo "missing Debian packages:$$missing"; \
	        echo "run as root, or: sudo apt-get install$$missing"; \
	        exit 1; \
	    fi; \
	fi
endef

deps:
	$(call ensure_pkgs,$(BUILD_PKGS))

# t/100-npm-clients.t drives the real npm clients pinned in
# t/clients/package-lock.json: node and npm (Debian's nodejs and npm when
# node is missing; an image's own nodejs may ship npm itself), then
# `npm ci` when node_modules is missing or older than the lock file.
# --ignore-scripts: onnxruntime-node (a dependency of
# @huggingface/transformers) has a postinstall that downloads CUDA
# libraries from outside the npm registry, which CI cannot reach. Its CPU
# binding ships in the npm package itself, and the test runs
# no ONNX model anyway: AutoConfig and AutoTokenizer need none. The only
# other install script (protobufjs) just checks its CLI's version.
# t/110-python-clients.t drives the real Python clients (huggingface_hub,
# hf_xet, transformers, datasets) pinned with every dependency in
# t/clients/requirements.txt: a virtual environment of Debian's python3
# (python3-venv) in build/pyenv, made anew when requirements.txt is newer
# than its stamp; wheels only, so nothing is compiled (about 35 s, 570 MB).
test-deps: deps
	$(call ensure_pkgs,$(TEST_PKGS))
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing: nodejs npm"; \
	        apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm \
	            >/dev/null || exit 1; \
	    else \
	        echo "missing: node and npm"; \
	        echo "run as root, or: sudo apt-get install nodejs npm"; \
	        exit 1; \
	    fi; \
	fi
	@if [ ! -d t/clients/node_modules ] || \
	    [ t/clients/package-lock.json -nt t/clients/node_modules ]; then \
	    echo "npm ci in t/clients"; \
	    ( cd t/clients && npm ci --ignore-scripts --no-audit --no-fund ) || exit 1; \
	    touch t/clients/node_modules; \
	fi
	@if [ ! -f $(PYENV)/.installed ] || [ $(PY_REQS) -nt $(PYENV)/.installed ]; then \
	    echo "pip install -r $(PY_REQS) into $(PYENV)"; \
	    rm -rf $(PYENV) && $(VENV_PYTHON) -m venv $(PYENV) && \
	    $(PYENV)/bin/pip install --disable-pip-version-check --no-input -q \
	        --only-binary=:all: -r $(PY_REQS) || { rm -rf $(PYENV); exit 1; }; \
	    touch $(PYENV)/.installed; \
	fi

bench-deps: test-deps
	$(call ensure_pkgs,$(BENCH_PKGS))

# nginx-dev ships headers, build scripts and the configure flags of
# Debian's binary; configure runs on a copy so that the package's files
# are never written to.
# config lists src/*.c (make check-config): configure again when they change.
SRC_LIST := $(sort $(wildcard src/*.c))
$(shell mkdir -p $(BUILD); echo '$(SRC_LIST)' | cmp -s - $(BUILD)/srcs.list \
    || echo '$(SRC_LIST)' > $(BUILD)/srcs.list)

$(BUILD)/nginx/objs/Makefile: config $(BUILD)/srcs.list | deps
	rm -rf $(BUILD)/nginx && mkdir -p $(BUILD) && cp -a $(NGX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && . ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt='-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2' \
	    --with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC' \
	    --add-dynamic-module=$(ROOT) > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(BUILD)/nginx/objs/Makefile $(HF_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	@# a new file, not one rewritten in place: running workers map the old
	cp $(BUILD)/nginx/objs/ngx_http_hf_module.so $(MODULE).tmp
	mv -f $(MODULE).tmp $(MODULE)

# reads the module's LMDB records: build/hf-meta DIR revisions|files|blobs
$(BUILD)/hf-meta: tools/hf-meta.c src/ngx_http_hf_records.h | deps
	$(CC) -O2 -Wall -Wextra -Werror -o $@ tools/hf-meta.c -llmdb

# warms, lists and purges the cache: build/hf-cache --help, docs/hf-cache.md
HFC_SRCS := $(wildcard tools/hf-cache/*.c)
HFC_DEPS := $(HFC_SRCS) $(wildcard tools/hf-cache/*.h) src/ngx_http_hf_records.h
$(BUILD)/hf-cache: $(HFC_DEPS) | deps
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $(HFC_SRCS) \
	    -lcurl -llmdb -ljansson -lcrypto

# As root, nginx runs its workers as "nobody": they must be able to enter
# RUNDIR (a "mktemp -d" is 0700), where nginx makes the directories they
# write their own.
run: build
	@mkdir -p $(RUNDIR)/conf $(RUNDIR)/logs $(RUNDIR)/tmp
	@if [ "$$(id -u)" = 0 ]; then chmod go+x $(RUNDIR); fi
	sed -e 's|@MODULE@|$(MODULE)|g' \
	    -e 's|@PORT@|$(PORT)|g' \
	    -e 's|@HF_UPSTREAM@|$(HF_UPSTREAM)|g' \
	    -e 's|@RUNDIR@|$(RUNDIR)|g' \
	    -e 's|@RESOLVER@|$(RESOLVER)|g' \
	    -e "s|@USER@|$$(id -un) $$(id -gn)|g" \
	    conf.example > $(RUNDIR)/conf/nginx.conf
	@if [ -z "$$HF_TOKEN" ]; then \
	    echo "note: HF_TOKEN is not set: /hf-private/ runs without a token"; \
	    sed -i 's|hf_token env:HF_TOKEN;|hf_token off;  # HF_TOKEN was not set|' \
	        $(RUNDIR)/conf/nginx.conf; \
	fi
	$(NGINX) -p $(RUNDIR)/ -c conf/nginx.conf -t
	@echo "serving on http://127.0.0.1:$(PORT)/hf/ (Ctrl-C stops)"
	@echo "  clients:  HF_ENDPOINT=http://127.0.0.1:$(PORT)/hf"
	@echo "  metrics:  curl http://127.0.0.1:$(PORT)/metrics"
	@echo "  hf-cache: HF_ENDPOINT=http://127.0.0.1:$(PORT)/hf HF_CACHE_METADATA=$(RUNDIR)/metadata HF_CACHE_DIR=$(RUNDIR)/cache $(BUILD)/hf-cache warm REPO"
	exec $(NGINX) -p $(RUNDIR)/ -c conf/nginx.conf -g 'daemon off;'

# one after the other: the suites share t/servroot
test:
	$(MAKE) test-dynamic
	$(MAKE) test-static
	$(MAKE) fuzz

test-dynamic: build test-deps
	prove $(PROVE_FLAGS) t/

bench: build bench-deps
	bench/run

clean:
	rm -rf $(BUILD) t/servroot

include mk/checks.mk
