# Patronage: one front door. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.7,<2" numpy pandas pytest hypothesis mpmath scikit-learn matplotlib mypy nbclient nbformat ipykernel
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the build and test dependencies

dev: $(STAMP) ## build the extension (release) into .venv, editable
	VIRTUAL_ENV=$(abspath $(VENV)) $(PY) -m maturin develop --release --quiet

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust: ## Rust unit and doc tests (no Python needed)
	cargo test --workspace

test-python: dev ## pytest (doctests, notebooks, the package's tests)
	$(PY) -m pytest -q

test: lint test-rust test-python ## every test: lint, Rust, Python

bench: dev ## the benchmarks against the peers (pandas, polars, scikit-learn, lifetimes)
	$(PY) -m pip install --quiet polars
	$(PY) benches/bench_rfm.py
	$(PY) benches/bench_loyalty.py
	$(PY) benches/bench_churn.py
	$(PY) benches/bench_btyd.py  # lifetimes runs in LIFETIMES_PYTHON (see the script)
	$(PY) benches/bench_cluster.py

clean: ## remove build products and the virtual environment
	cargo clean
	rm -rf $(VENV) python/patronage/_core*.so

.PHONY: help venv dev lint test-rust test-python test bench clean
