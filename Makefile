# `make demo` and `make test` are all a newcomer needs; see README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint pytest

demo: $(INSTALLED)
	$(BIN)/tracewire serve --demo

test: lint pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
