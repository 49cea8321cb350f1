# The two quickstart commands: `make demo` and `make test`. Only Python 3.11+ and make needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install install-test serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Install, migrate, load reference and demo data into ./mne.db, print sign-ins, serve on :8000.
demo: install
	MNE_DEMO=1 $(BIN)/mne demo

## Install the test dependencies and run the whole suite (PostgreSQL too if MNE_TEST_DATABASE_URL is set).
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

serve: install
	$(BIN)/mne serve

clean:
	rm -rf $(VENV) mne.db mne.db-wal mne.db-shm
