# Two commands on a fresh machine:
#   make demo   — set up .venv and run the demo supervision on an embedded SQLite ledger
#   make test   — set up .venv and run the whole test suite (CI runs exactly this)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean browser

$(STAMP): pyproject.toml tests/plugin_region_nord/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e tests/plugin_region_nord
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tilsyn demo --dir tilsyn-demo --fresh

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The report is checked in a real headless browser: Debian's chromium, installed here when missing
# (as root; elsewhere the browser tests skip with the reason, and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@echo "run e.g.: $(BIN)/python bench/bench_ledger.py --events 100000"

clean:
	rm -rf $(VENV) tilsyn-demo .pytest_cache .hypothesis
