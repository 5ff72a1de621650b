# One-word entry points: make setup | test | run | fmt | bench
SHELL := /bin/bash
.DEFAULT_GOAL := test

VENV  := .venv
BIN   := $(VENV)/bin
PY    := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: setup test run fmt bench browser

HTMX  := web/static/vendor/htmx.min.js

setup: $(STAMP) $(HTMX)

# htmx is served from our own static files (no CDN): fetched once, pinned and checksummed.
$(HTMX): web/fetch_htmx.py | $(STAMP)
	$(PY) web/fetch_htmx.py || echo "warning: htmx not fetched (needs npm); pages fall back to plain forms"

# durable_rules imports on Python 3.11 and 3.12 only (not 3.13).
$(PY):
	@py=""; \
	for c in python3.11 python3.12; do \
	  if command -v "$$c" >/dev/null 2>&1 && \
	     "$$c" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' >/dev/null 2>&1; then \
	    py="$$c"; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "error: neither python3.11 nor python3.12 is available; install one of them (durable_rules does not import on 3.13)" >&2; \
	  exit 1; \
	fi; \
	echo "creating $(VENV) with $$py ($$("$$py" --version))"; \
	"$$py" -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# The browser tests drive Debian's chromium through playwright (playwright cannot download its
# own browsers here). Installed once when missing; quick when it is there already.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: $(CHROMIUM) missing and no apt-get: the browser tests will be skipped" >&2; \
	  exit 0; \
	fi; \
	echo "installing chromium for the browser tests"; \
	$(APT) install -y chromium || { $(APT) update && $(APT) install -y chromium; }

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

run: setup
	$(BIN)/sop run

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	@set -e; found=0; \
	for f in bench/*.py; do \
	  [ -e "$$f" ] || continue; \
	  found=1; echo "== $$f"; $(PY) "$$f"; \
	done; \
	if [ "$$found" = 0 ]; then echo "no bench/*.py found"; fi
