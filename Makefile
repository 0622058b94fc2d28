# Two commands: `make run` (set up + start the default world) and `make test` (set up + run the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test setup runtimes lint bench bench-npc bench-narrative bench-rl vectors clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml clients/python/pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,rl]'
	$(PY) -m pip install --quiet --no-deps -e clients/python
	touch $(STAMP)

setup: $(STAMP)

# Engines and tools the SDK and exporter tests run for real (each script installs only what is missing).
runtimes: setup
	@for script in clients/*/install-runtime.sh server/viewer/install-runtime.sh; do bash $$script || exit 1; done
	@if [ -f assets_gen/validator/package.json ] && [ ! -d assets_gen/validator/node_modules ]; then \
		npm install --prefix assets_gen/validator --no-audit --no-fund --loglevel=error; fi

run: setup
	$(VENV)/bin/worldloom run

test: setup runtimes
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy protocol worldsim server clients/python/worldloom_client

bench: setup
	$(PY) benchmarks/net_load.py

bench-npc: setup
	$(PY) benchmarks/npc_scale.py
	$(PY) benchmarks/vs_behaviour_tree.py
	$(PY) benchmarks/npc_social.py

bench-narrative: setup
	$(PY) benchmarks/difficulty_sim.py || true   # exits 1: the win/loss-only target is missed (docs/director.md)
	$(PY) benchmarks/storyteller_stats.py
	$(PY) benchmarks/quest_quality.py

bench-rl: setup
	$(PY) benchmarks/rl_steps.py
	$(PY) benchmarks/rl_learning.py

vectors: setup
	$(PY) -m protocol.vectors.generate

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
