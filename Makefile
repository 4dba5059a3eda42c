# AMIgo: `make demo` and `make test` work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_CUSTOMERS ?= 20000
BENCH_CUSTOMERS ?= 1200000

.PHONY: demo test lint bench install dev clean browser

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
	$(BIN)/amigo identity resolve
	$(BIN)/amigo identity evaluate --truth demo-data/truth.csv
	$(BIN)/amigo quality report
	@echo
	@echo "Demo data is loaded and resolved into ./amigo.db. Try next:"
	@echo "  $(BIN)/amigo customer show cegid:MIL01000012     # a Client 360: one person from three sources"
	@echo "  $(BIN)/amigo identity review                      # the pairs resolution was not sure about"
	@echo "  $(BIN)/amigo identity history <profile id>        # its merges: rule, score, fields; then unmerge"
	@echo "  $(BIN)/amigo consent show cegid:MIL01000012       # consent per purpose, the ledger behind it with proofs"
	@echo "  $(BIN)/amigo serve & $(BIN)/amigo consent link cegid:MIL01000012   # the preference center in a browser"
	@echo "  $(BIN)/amigo privacy retention                    # who is past 3 years without purchase or contact (dry run)"
	@echo "  $(BIN)/amigo clients create --name tablets --role sales_associate   # an API client; then"
	@echo "  curl -s -d grant_type=client_credentials -u ID:SECRET http://127.0.0.1:8000/v1/oauth/token"
	@echo "  curl -s -H 'Authorization: Bearer TOKEN' 'http://127.0.0.1:8000/v1/customers?last_name=Martin'"
	@echo "  $(BIN)/amigo sources create --name web            # a write key for the Segment / RudderStack SDKs"
	@echo "  $(BIN)/amigo events relay                         # publish the outbox's events (AMIGO_BUS_URL=nats://... for NATS)"
	@echo "  $(BIN)/amigo load demo-data                       # idempotent: nothing changes the second time"
	@echo "  $(BIN)/amigo --help"

lint: dev
	$(BIN)/ruff check src tests migrations benchmarks
	$(BIN)/ruff format --check src tests migrations benchmarks
	$(BIN)/mypy

# The pages' browser tests drive Debian's Chromium (Playwright downloads nothing here).
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "Chromium could not be installed: the browser tests will be skipped (CI fails them)"

test: dev browser
	$(MAKE) lint
	$(BIN)/pytest -n 3 -m "not slow" --durations=15

bench: dev
	$(BIN)/pytest -m slow
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_load.py --customers $(BENCH_CUSTOMERS)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_identity.py resolve \
		--database sqlite:///bench-data/bench.db --truth bench-data/export-$(BENCH_CUSTOMERS)-42/truth.csv
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_identity.py incremental \
		--database sqlite:///bench-data/bench.db --records 1000
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_identity.py quality --customers 100000
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_identity.py quality --customers 100000 --noise-scale 2

clean:
	rm -rf $(VENV) demo-data amigo.db amigo.db-wal amigo.db-shm amigo-links.key amigo-suppression.key amigo-token.key amigo-encryption.key amigo-index.key privacy-exports .pytest_cache .mypy_cache .ruff_cache
