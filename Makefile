# Newsdesk — `make run` sets everything up and starts the bot (or the local console without a
# DISCORD_TOKEN); `make test` runs the linter and the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/newsdesk start

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.commands
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.charts

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache bench/.cache
