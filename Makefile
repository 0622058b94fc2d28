# Two commands: `make run` (set up + start the default world) and `make test` (set up + run the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test setup lint bench vectors clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml clients/python/pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps -e clients/python
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/worldloom run

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy protocol worldsim server clients/python/worldloom_client

bench: setup
	$(PY) benchmarks/net_load.py

vectors: setup
	$(PY) -m protocol.vectors.generate

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
