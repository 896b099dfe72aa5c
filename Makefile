# `make test` installs what the tests need (once) and runs every check; CI runs exactly this.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
STAMP := .make/dev-installed
PY_DIRS := src tests $(wildcard bench)

.PHONY: test check install-dev chromium format lint types contracts openapi openapi-check pytest run bench

test: install-dev chromium check

check: lint types contracts openapi-check pytest

$(STAMP): pyproject.toml
	$(PIP) install --quiet --disable-pip-version-check -e ".[dev]"
	@mkdir -p .make && touch $(STAMP)

install-dev: $(STAMP)

# Debian's Chromium for the browser tests; installed once, skipped when present.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

format:
	ruff format $(PY_DIRS)
	ruff check --fix $(PY_DIRS)

lint:
	ruff format --check $(PY_DIRS)
	ruff check $(PY_DIRS)

types:
	mypy

contracts:
	lint-imports

openapi:
	leadflood openapi --out openapi.json

openapi-check:
	@leadflood openapi --out .make/openapi.json
	@diff -u openapi.json .make/openapi.json >/dev/null || { \
	  echo "openapi.json is out of date: run 'make openapi' and commit it"; \
	  diff -u openapi.json .make/openapi.json | head -40; exit 1; }

pytest:
	$(PYTHON) -m pytest -q -p no:cacheprovider

run:
	leadflood up
