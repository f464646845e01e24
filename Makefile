# The two commands a fresh clone needs: `make serve` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

# llama.cpp compiled for the build machine's own CPU (GGML_NATIVE) picks up AMX kernels that
# crash on some virtualised Xeons; build a portable AVX2 engine instead.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: install lock serve check lint types layers test unit e2e bench clean

# requirements.lock pins every package .venv gets, direct and transitive, dev extras included,
# by name and version only (no index, no local path, no hashes), so every install gets the
# same versions.
LOCK := requirements.lock
# `make lock` writes it anew from pyproject.toml's dependencies and dev extras, with uv, for
# Python 3.11 on every platform. Pins the lock already has are kept where pyproject still
# allows them; `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package NAME`) moves them on.
# Commit the lock with the pyproject.toml change that needed it.
UV_VERSION := 0.13.9
LOCK_TOOLS := build/lock-tools
LOCK_ARGS ?=

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The lock is complete, so pip installs exactly it and resolves nothing; `pip check` then
# fails if pyproject.toml asks for something the lock does not satisfy (run `make lock`).
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --no-deps -r $(LOCK) -e .
	$(BIN)/pip check
	@# A wheel pip cached from an earlier native build would still crash: check the engine
	@# on a real prompt and rebuild it from source once if it does not survive.
	$(BIN)/python -m openscope.backends.llamacpp.selfcheck || \
		( $(BIN)/pip install --force-reinstall --no-deps --no-cache-dir -c $(LOCK) llama-cpp-python && \
		  $(BIN)/python -m openscope.backends.llamacpp.selfcheck )
	touch $@

install: $(VENV)/.installed

$(LOCK_TOOLS)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

lock: | $(LOCK_TOOLS)/bin/uv
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--no-config --custom-compile-command 'make lock' --quiet -o $(LOCK) $(LOCK_ARGS)

serve: install
	$(BIN)/openscope serve $(ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

check: lint types layers

unit: install
	$(BIN)/pytest -m "not e2e" $(ARGS)

e2e: install
	$(BIN)/pytest -m e2e $(ARGS)

test: check
	$(BIN)/pytest $(ARGS)

# ARGS (--tokens, --runs, --threads) reach every benchmark but memory.py, whose flags differ.
bench: install
	$(BIN)/python bench/run.py $(ARGS)
	$(BIN)/python bench/grammar.py $(ARGS)
	$(BIN)/python bench/concurrency.py $(ARGS)
	$(BIN)/python bench/cache.py $(ARGS)
	$(BIN)/python bench/memory.py
	@# load.py runs at its own sizes (8/16/32 streams of 1,800 + 400 tokens): no ARGS.
	$(BIN)/python bench/load.py
	$(BIN)/python bench/stall.py $(ARGS)
	@# llama.cpp's llama-server for llama_server.py: built once (~8 min) into ~/.cache.
	bash bench/build_llama_server.sh
	$(BIN)/python bench/llama_server.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build src/*.egg-info
