# The two commands a fresh clone needs: `make serve` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

# llama.cpp compiled for the build machine's own CPU (GGML_NATIVE) picks up AMX kernels that
# crash on some virtualised Xeons; build a portable AVX2 engine instead.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: install serve check lint types layers test unit e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@# A wheel pip cached from an earlier native build would still crash: check the engine
	@# on a real prompt and rebuild it from source once if it does not survive.
	$(BIN)/python -m openscope.backends.llamacpp.selfcheck || \
		( $(BIN)/pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python && \
		  $(BIN)/python -m openscope.backends.llamacpp.selfcheck )
	touch $@

install: $(VENV)/.installed

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
