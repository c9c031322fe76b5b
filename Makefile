# rezero — two commands on a fresh machine: `make test` (the suite) and `make demo` (the main job).
PYTHON_SYSTEM ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-dev

.PHONY: test lint typecheck pytest bench data clean

$(PY):
	$(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
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

## bench: run the benchmark suite (results go to benchmarks/results/)
bench: $(INSTALLED)
	$(PY) -m benchmarks run

## data: regenerate the embedded synthetic world in data/synthetic-world/
data: $(INSTALLED)
	$(PY) scripts/generate_data.py --output-dir data/synthetic-world

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
