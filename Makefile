# tutela: two commands to start — `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test install bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the gateway (:8080) and the admin API (:8081) on the embedded defaults.
run: $(STAMP)
	$(BIN)/tutela serve $(ARGS)

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
