# Every target that runs code depends on `setup`, which is idempotent: it only reinstalls when
# pyproject.toml changes.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[local,dev]'
	bash .ci/system-packages
	touch $(STAMP)

demo: setup
	$(PY) -m agentkit demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check agentkit tests benchmarks archives/seed
	$(VENV)/bin/ruff format --check agentkit tests benchmarks archives/seed
	$(VENV)/bin/mypy

# Byte-compiled first, as a pip-installed package is: process start-up is measured, and an editable
# install under PYTHONDONTWRITEBYTECODE would otherwise compile agentkit's sources in every process.
bench: setup
	$(PY) -m pip install -q -e '.[bench]' -c benchmarks/constraints.txt
	$(PY) -m compileall -q agentkit benchmarks
	$(PY) -m benchmarks.perf

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
