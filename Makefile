# Two commands set everything up on a machine that has only Python:
#   make demo   creates .venv, installs leadup, uploads sample_data/leads.csv to the embedded sandbox
#   make test   installs the test dependencies and runs the whole suite
# and `make web` serves the web page on the embedded sandbox (open the link it prints).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo web test check lint bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Each demo starts over on a fresh embedded sandbox (--restart --resend-created: nothing real is
# paid for). The sample file has invalid and duplicate rows on purpose, so the demo ends with exit 1
# ("finished, some rows not created"); only 2 and up mean the demo itself went wrong.
demo: $(VENV)/.installed
	$(BIN)/leadup upload sample_data/leads.csv --sandbox --restart --resend-created --rate 40 \
		--output build/demo/leads.results.csv || [ $$? -eq 1 ]
	@echo "demo: results in build/demo/leads.results.csv"

# The web page (leadup web) over a fresh embedded sandbox; Ctrl-C stops it (runs stop gracefully).
WEB_PORT ?= 8765
web: $(VENV)/.installed
	$(BIN)/leadup web --sandbox --port $(WEB_PORT) --workspace build/web

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n auto

# Format, lint, types and the layer contract (pyproject.toml); `make check` adds the tests.
lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check uploader jobs tests bench sample_data
	$(BIN)/ruff check uploader jobs tests bench sample_data
	$(BIN)/mypy uploader jobs
	$(BIN)/lint-imports

check: lint test

# A longer fuzzing campaign of reading (tests/test_fuzz.py); `make test` runs a few examples.
FUZZ_EXAMPLES ?= 5000
fuzz: $(VENV)/.installed-test
	LEADUP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q \
		--timeout 3600 tests/test_fuzz.py

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf build .pytest_cache
