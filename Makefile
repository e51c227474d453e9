# Two commands on a fresh machine:
#   make demo   — set up .venv and run the demo supervision on an embedded SQLite ledger
#   make test   — set up .venv and run the whole test suite (CI runs exactly this)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean browser documents golang

$(STAMP): pyproject.toml tests/plugin_region_nord/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e tests/plugin_region_nord
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tilsyn demo --dir tilsyn-demo --fresh

test: $(STAMP) browser documents golang
	$(BIN)/python -m pytest

# The report is checked in a real headless browser: Debian's chromium, installed here when missing
# (as root; elsewhere the browser tests skip with the reason, and fail under CI=true).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  (echo "make: installing system package chromium (Debian, for the report's browser tests) with apt-get" && \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Documents are written as PDF by WeasyPrint, which needs Pango and fonts; the PDF tests read them back with
# poppler's pdftotext. Debian's packages, installed here when missing (as root, saying so first).
DOC_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation fonts-dejavu-core poppler-utils
documents:
	@missing=$$(for p in $(DOC_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Debian packages for PDF documents: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
# The published tiles and evidence bundles are read back by Go's sumdb/note and sumdb/tlog
# (tests/test_tiles.py, tests/test_bundle_foreign.py; the latter also needs x/text's NFC): Debian's
# golang-go, golang-golang-x-mod-dev and golang-golang-x-text-dev, installed here when missing (as root;
# elsewhere those tests skip, and fail under CI=true).
golang:
	@[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] && [ -d /usr/share/gocode/src/golang.org/x/text/unicode/norm ] && \
	  command -v go >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  (echo "installing Debian packages golang-go golang-golang-x-mod-dev golang-golang-x-text-dev (Go's sumdb/tlog and NFC, for tests/test_tiles.py, tests/test_bundle_foreign.py)" && \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev golang-golang-x-text-dev >/dev/null)

# Every figure of issue 16 with its reference and goal, one table (the short run, a few minutes; the
# issue's sizes: bench/bench_all.py --full). PostgreSQL figures need the server of `make test`.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench_all.py

clean:
	rm -rf $(VENV) tilsyn-demo .pytest_cache .hypothesis
