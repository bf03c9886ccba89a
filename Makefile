# Two commands on a fresh machine:
#   make run    create .venv, install the pinned runtime, start the app
#   make test   the same with the dev requirements and Chromium, then every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench emulator clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed
	$(BIN)/python app.py

test: $(VENV)/.dev-installed
	@sh scripts/install-chromium.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench --write BENCHMARKS.md

emulator: $(VENV)/.runtime-installed
	$(BIN)/python -m components.emulator --port 8765

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
