# tutela: two commands to start — `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test install system-deps test-deps bench lint clean

# Debian packages the tests use as real peers (rsyslog receives syslog export over TCP
# and TLS; xmlsec1 checks SAML signatures). Installed when missing and running as root
# (CI); otherwise those tests skip.
SYSTEM_PACKAGES := rsyslog rsyslog-gnutls xmlsec1

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || \
	    (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1) || \
	    echo "warning: could not install$$missing; the tests that need them will be skipped"; \
	  else echo "note:$$missing not installed; the tests that need them will be skipped"; fi; \
	fi

$(STAMP): pyproject.toml setup.py src/tutela/injection/_speedups.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the gateway (:8080) and the admin API (:8081) on the embedded defaults.
run: $(STAMP)
	$(BIN)/tutela serve $(ARGS)

## The pinned oidc-provider (npm) the OIDC tests run (their fixture also installs it).
test-deps:
	cd tests/identity/oidc_provider && npm ci --no-audit --no-fund

## Run the whole test suite (unit, storage on SQLite and PostgreSQL, end-to-end), 2 workers.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## Benchmarks: direct to a stand-in upstream vs through tutela, side by side.
bench: $(STAMP)
	$(BIN)/python bench/gateway_latency.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
