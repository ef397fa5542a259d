# The two set-up commands of the README: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_WHEEL ?= $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: venv install demo test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt $(BIN)/python
	# torch 2.13.0 CPU first (the local wheel where the machine has it), then the rest under the constraints file
	$(BIN)/pip install -q $(if $(TORCH_WHEEL),$(TORCH_WHEEL),torch==2.13.0)
	$(BIN)/pip install -q -c constraints.txt -e ".[all]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/edgeport demo

test: install
	$(BIN)/python -m pytest -q -n 2 tests

bench: install
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
