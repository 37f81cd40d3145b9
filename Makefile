# `make demo` and `make test` are all a newcomer needs; see README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed

# The web UI (web/): npm ci when the lockfile changes, vite build when a source does.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_BUILT := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/graphiql.html web/vite.config.ts web/tsconfig.json \
	web/package.json -type f 2>/dev/null)

.PHONY: demo test lint pytest web webcheck bench

demo: $(INSTALLED) $(WEB_BUILT)
	$(BIN)/tracewire serve --demo

test: lint webcheck pytest

web: $(WEB_BUILT)

# TypeScript, the frontend unit tests, and generated GraphQL types matching the SDL.
webcheck: $(WEB_MODULES)
	cd web && npm run --silent typecheck
	cd web && npm run --silent test
	cd web && npm run --silent codegen:check

$(WEB_BUILT): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run --silent build

$(WEB_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# The benchmarks (tests/benchmarks/), one after the other: each prints its figures and a
# ratio against a baseline measured in the same run; its last line is a JSON object.
BENCHMARKS := recorder_overhead ingest_throughput live_latency query_latency

bench: $(INSTALLED)
	for name in $(BENCHMARKS); do $(BIN)/python tests/benchmarks/$$name.py || exit 1; done

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser tests (tests/test_ui_*.py) need the built UI.
pytest: $(INSTALLED) $(WEB_BUILT)
	$(BIN)/pytest

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
