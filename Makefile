# tutela: two commands to start — `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test install test-deps bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the gateway (:8080) and the admin API (:8081) on the embedded defaults.
run: $(STAMP)
	$(BIN)/tutela serve $(ARGS)

## System packages and npm modules the SSO tests use (xmlsec1 for SAML; oidc-provider).
test-deps:
	command -v xmlsec1 >/dev/null || apt-get install -y xmlsec1
	cd tests/identity/oidc_provider && npm ci --no-audit --no-fund

## Run the whole test suite (unit, storage on SQLite and PostgreSQL, end-to-end), 2 workers.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## Benchmarks: direct to a stand-in upstream vs through tutela, side by side.
bench: $(STAMP)
	$(BIN)/python bench/gateway_latency.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
