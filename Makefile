# The two commands: `make run` (the whole product, locally) and `make test` (lint + full suite).
# Everything else here is a convenience. Embedded defaults only: no service needs to be running.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when the lock (or pyproject.toml) changed since the last install.
STAMP := $(VENV)/.pyproject-installed
# The lock: exact versions with hashes, written by `make lock` from pyproject.toml
# (docs/development.md "Dependencies"). base.txt is production's (the Dockerfile), dev.txt adds
# the dev extra (make run, make test, .ci/run).
LOCK := requirements/dev.txt
LOCK_TOOLS := var/lock-tools
PIP_TOOLS_VERSION := 7.7.0
LOCK_ARGS ?=
PYTEST_ARGS ?=
WEB_PORT ?= 8000
SANDBOX_PORT ?= 8001

.PHONY: help venv browser wrk run test test-clock-ahead screenshots lint init-local migrate seed sandbox bench clean-var lock

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@echo "Creating the virtualenv $(VENV)…"
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	@echo "Installing Python packages into $(VENV) from $(LOCK) (first run: about half a minute; again only when the lock changes)…"
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python bin/check_lock.py
	@echo "Python packages installed."
	touch $@

venv: $(STAMP)  ## create .venv and install the locked packages (only when the lock changed)

# pip-compile (pip-tools, pinned, in its own venv under var/) keeps every pin it can and resolves
# only what pyproject.toml changed. LOCK_ARGS=--upgrade moves everything to the newest allowed
# versions; LOCK_ARGS='--upgrade-package django' one package. Needs the package index.
lock:  ## rewrite requirements/*.txt (hashed pins) from pyproject.toml; LOCK_ARGS=--upgrade to upgrade
	@test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
	  $(LOCK_TOOLS)/bin/python -m pip install --quiet pip-tools==$(PIP_TOOLS_VERSION); }
	$(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
	  --extra dev --output-file requirements/dev.txt pyproject.toml
	$(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links \
	  --constraint requirements/dev.txt --output-file requirements/base.txt pyproject.toml
	$(LOCK_TOOLS)/bin/python bin/check_lock.py

# Browser tests drive Debian's chromium through Playwright; never a browser download.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && apt-get install -y chromium; \
	  else \
	    echo "chromium is not installed: browser tests will fail (sudo apt-get install chromium)" >&2; \
	  fi; \
	fi

run: venv  ## migrate, seed the demo org, then run web :8000, worker, beat and the Lever sandbox :8001
	$(BIN)/python bin/run-local --web-port $(WEB_PORT) --sandbox-port $(SANDBOX_PORT)

# The suite makes its own var/ folders and local secrets (tests/conftest.py): no setup step.
test: lint browser  ## lint, then the full pytest suite (non-zero on any failure, or on no tests)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The pictures in docs/ (docs/development.md "Screenshots"): only the browser tests that take
# them, with KARATLEVER_UPDATE_DOCS=1 so that `docs_screenshot` (tests/browser/conftest.py)
# writes docs/<name>.png as well as its copy in the temp folder.
DOCS_SCREENSHOT_TESTS := \
  tests/browser/test_status_page.py::test_a_healthy_integration_shows_every_check_passing \
  tests/browser/test_status_page.py::test_a_failing_integration_names_each_failure_with_its_fix \
  tests/browser/test_bulk_invite.py::test_bulk_invite_of_20_urls_with_3_bad_ones

screenshots: venv browser  ## retake the docs/*.png pictures from the browser tests (then look, commit)
	KARATLEVER_UPDATE_DOCS=1 $(BIN)/python -m pytest $(DOCS_SCREENSHOT_TESTS) $(PYTEST_ARGS)

# No test may depend on today's date: the same suite (less live and browser tests, whose
# subprocesses and browser keep the real clock) with time-machine moving "now" a year ahead.
test-clock-ahead: init-local  ## the suite on a clock a year ahead (a time bomb fails now, not later)
	$(BIN)/python -m pytest --clock-ahead-days=365 $(PYTEST_ARGS)

# makemigrations runs the system checks, which want the local secrets (init-local makes them once).
# mypy checks the `files` of [tool.mypy] in pyproject.toml (strict for the product code).
lint: init-local  ## the lock agrees with pyproject.toml, ruff check and format, migrations up to date, mypy
	$(BIN)/python bin/check_lock.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy

init-local: venv  ## create var/ folders and the local secrets (once; bin/run-local does this too)
	$(BIN)/python manage.py init_local

migrate: init-local  ## apply migrations to the configured database
	$(BIN)/python manage.py migrate --noinput

seed: init-local  ## create the demo organization (idempotent)
	$(BIN)/python manage.py seed_demo

sandbox: init-local  ## run only the local Lever sandbox on :8001
	$(BIN)/python manage.py lever_sandbox --port $(SANDBOX_PORT)

# bench/webhook_ingest.py drives the server with wrk (C load generator, Debian package).
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && apt-get install -y wrk; \
	  else \
	    echo "wrk is not installed: bench/webhook_ingest.py will fail (sudo apt-get install wrk)" >&2; \
	  fi; \
	fi

# Every bench/*.py is a bench except the helpers the webhook benches load into Django.
BENCH_HELPERS := bench/bench_urls.py bench/settings_bench.py bench/sql_count.py
BENCHES := $(filter-out $(BENCH_HELPERS),$(wildcard bench/*.py))

bench: venv wrk  ## run every bench (or BENCH=bench/x.py); fails if a target is missed
	@status=0; for script in $(or $(BENCH),$(BENCHES)); do \
	  echo "== $$script"; $(BIN)/python $$script || status=1; \
	done; exit $$status

clean-var:  ## delete local state (SQLite database, file broker, beat schedule; keeps keys)
	rm -rf var/karatlever.sqlite3* var/broker var/cache var/ratelimit var/celerybeat-schedule*

# The fault suite (tests/reliability; docs/operations.md, "The fault suite"): starts its own
# PostgreSQL and Redis on free ports (never the shared ones), gunicorn, Celery workers and the
# Lever sandbox, then stops, freezes and kills them; each scenario prints its [figures] line.
.PHONY: test-reliability
test-reliability: init-local  ## the fault suite: outages, kills, Lever faults, fuzzing (own PostgreSQL + Redis)
	$(BIN)/python -m pytest -m reliability tests/reliability $(PYTEST_ARGS)
