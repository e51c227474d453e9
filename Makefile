# Two commands on a fresh machine:
#   make demo   — set up .venv and run the demo supervision on an embedded SQLite ledger
#   make test   — set up .venv and run the whole test suite (CI runs exactly this)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml tests/plugin_region_nord/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e tests/plugin_region_nord
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tilsyn demo --dir tilsyn-demo --fresh

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@echo "run e.g.: $(BIN)/python bench/bench_ledger.py --events 100000"

clean:
	rm -rf $(VENV) tilsyn-demo .pytest_cache .hypothesis
