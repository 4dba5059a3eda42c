# AMIgo: `make demo` and `make test` work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_CUSTOMERS ?= 20000
BENCH_CUSTOMERS ?= 1200000

.PHONY: demo test lint bench install dev clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/amigo db upgrade
	$(BIN)/amigo generate --customers $(DEMO_CUSTOMERS) --seed 42 --out demo-data --force
	$(BIN)/amigo load demo-data
	$(BIN)/amigo quality report
	@echo
	@echo "Demo data is loaded into ./amigo.db. Try next:"
	@echo "  $(BIN)/amigo customer show cegid:PAR02000001     # a Client 360: profile, lineage, orders, consents"
	@echo "  $(BIN)/amigo customer show <an email or phone from demo-data/>"
	@echo "  $(BIN)/amigo load demo-data                       # idempotent: nothing changes the second time"
	@echo "  $(BIN)/amigo --help"

lint: dev
	$(BIN)/ruff check src tests migrations benchmarks
	$(BIN)/ruff format --check src tests migrations benchmarks
	$(BIN)/mypy

test: dev
	$(MAKE) lint
	$(BIN)/pytest -n 2 -m "not slow"

bench: dev
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_load.py --customers $(BENCH_CUSTOMERS)

clean:
	rm -rf $(VENV) demo-data amigo.db amigo.db-wal amigo.db-shm .pytest_cache .mypy_cache .ruff_cache
