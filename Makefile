# `make demo` and `make test` are all a newcomer needs; see README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# What each use installs into .venv, again only when pyproject.toml changes: the demo the
# server alone, the tests the server and every extra plus the tools.
SERVER_INSTALLED := $(VENV)/.installed-server
DEV_INSTALLED := $(VENV)/.installed-dev

# The web UI (web/): npm ci when the lockfile changes, vite build when a source does. The
# build lands in the server's package (api/web_dist), so the wheel carries it.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_BUILT := api/web_dist/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/graphiql.html web/vite.config.ts web/tsconfig.json \
	web/package.json -type f 2>/dev/null)

.PHONY: demo test lint pytest pytest-fast web webcheck wheel packagecheck bench

demo: $(SERVER_INSTALLED) $(WEB_BUILT)
	$(BIN)/tracewire serve --demo

test: lint webcheck pytest packagecheck

web: $(WEB_BUILT)

# ESLint (react-hooks rules), TypeScript, the frontend unit tests, and generated GraphQL
# types matching the SDL.
webcheck: $(WEB_MODULES)
	cd web && npm run --silent lint
	cd web && npm run --silent typecheck
	cd web && npm run --silent test
	cd web && npm run --silent codegen:check

$(WEB_BUILT): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run --silent build

$(WEB_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# The benchmarks (tests/benchmarks/), one after the other: each prints its figures and a
# ratio against a baseline measured in the same run; its last line is a JSON object.
BENCHMARKS := recorder_overhead ingest_throughput otlp_convert live_latency query_latency

bench: $(DEV_INSTALLED)
	for name in $(BENCHMARKS); do $(BIN)/python tests/benchmarks/$$name.py || exit 1; done

# ruff, mypy strict, and the import contract between the rooms (pyproject.toml).
lint: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests (tests/ui/) need the built UI. The wheel's own tests run in packagecheck.
pytest: $(DEV_INSTALLED) $(WEB_BUILT)
	$(BIN)/pytest -m "not packaging"

# What a developer runs between edits: no browser, nothing slow (under two minutes).
pytest-fast: $(DEV_INSTALLED)
	$(BIN)/pytest -m "not browser and not slow and not packaging"

# The wheel a user installs, UI included, in dist/.
wheel: $(WEB_BUILT) | $(BIN)/python
	rm -rf dist build
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

# The built wheel installed into fresh virtualenvs outside the checkout, as a user would.
packagecheck: wheel $(DEV_INSTALLED)
	TRACEWIRE_WHEEL="$$(ls $(CURDIR)/dist/tracewire-*.whl)" $(BIN)/pytest -m packaging tests/packaging

$(SERVER_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $@

$(DEV_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(SERVER_INSTALLED)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
