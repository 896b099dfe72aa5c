# `make test` installs what the tests need (once) and runs every check; CI runs exactly this.
# Everything runs in one virtualenv: the active one, else .make/venv (created on first use), with
# exactly the versions locked in requirements/ (refresh them with `make lock`).
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := $(CURDIR)/.make/venv
endif
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
PIP := $(PYTHON) -m pip --disable-pip-version-check
BOOTSTRAP_PYTHON ?= python3
STAMP := $(VENV)/.leadflood-dev-installed
PY_DIRS := src tests $(wildcard bench)
LOCK_FLAGS := --python-version 3.11 --generate-hashes --quiet
# Commands the tests start (leadflood, lint-imports...) come from the same virtualenv.
export PATH := $(BIN):$(PATH)

.PHONY: test check install-dev chromium postgresql dovecot format lint types contracts openapi openapi-check pytest run bench lock

test: install-dev chromium postgresql dovecot check

check: lint types contracts openapi-check pytest

$(PYTHON):
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

# The locked versions, hash-checked, then the project itself without resolving anything again.
$(STAMP): requirements/dev.txt pyproject.toml | $(PYTHON)
	$(PIP) install --quiet --require-hashes -r requirements/dev.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $(STAMP)

install-dev: $(STAMP)

# Re-resolve every dependency within pyproject.toml's ranges, reinstall, and regenerate the
# OpenAPI contract in the same change when the new versions move it.
lock: | $(PYTHON)
	@test -x $(BIN)/uv || $(PIP) install --quiet uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --upgrade -o requirements/run.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) --upgrade \
	  -c requirements/run.txt -o requirements/dev.txt
	$(MAKE) install-dev openapi

# Debian's Chromium for the browser tests; installed once, skipped when present.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server for the database-restart drills (tests/system), which start and
# stop it as a child process in a directory of their own; installed once, skipped when present.
postgresql:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the database restart drills..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# Debian's Dovecot, the real IMAP server of the inbox tests, which start it as a child process
# with a configuration of their own (its system service is never used); installed once.
dovecot:
	@test -x /usr/sbin/dovecot || { \
	  echo "Installing Debian's dovecot-imapd for the inbox tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dovecot-imapd >/dev/null; }

format:
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

lint:
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/ruff check $(PY_DIRS)

types:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

openapi:
	$(BIN)/leadflood openapi --out openapi.json

openapi-check:
	@mkdir -p .make
	@$(BIN)/leadflood openapi --out .make/openapi.json
	@diff -u openapi.json .make/openapi.json >/dev/null || { \
	  echo "openapi.json is out of date: run 'make openapi' and commit it"; \
	  diff -u openapi.json .make/openapi.json | head -40; exit 1; }

pytest:
	$(PYTHON) -m pytest -q -p no:cacheprovider

run: install-dev
	$(BIN)/leadflood up
