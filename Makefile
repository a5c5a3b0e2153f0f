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
	$(PY) -m pip install --quiet "maturin>=1.7,<2" numpy pandas pytest hypothesis scikit-learn matplotlib mypy nbclient nbformat ipykernel selenium \
		polars pyarrow duckdb tqdm psutil  # the optional tables and out-of-core tests fail under CI=true without them
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the build and test dependencies

dev: $(STAMP) ## build the extension (release) into .venv, editable
	VIRTUAL_ENV=$(abspath $(VENV)) $(PY) -m maturin develop --release --quiet

browser: ## Chromium and its WebDriver (Debian packages) for the report's browser test
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; }

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The property batteries' size: hypothesis examples per property (Python) and
# proptest cases per property (Rust). `make test-nightly` runs ten times more.
PROPERTY_EXAMPLES ?= 500
PROPTEST_CASES ?= 256
export PROPERTY_EXAMPLES PROPTEST_CASES

test-rust: ## Rust unit, property (proptest) and doc tests (no Python needed)
	@mkdir -p target; start=$$(date +%s); cargo test --workspace 2>&1 | tee target/rust-test.log; status=$${PIPESTATUS[0]}; \
	  echo "Rust suite: $$(grep -Eo '^test result: ok\. [0-9]+ passed' target/rust-test.log | awk '{s+=$$4} END {print s}') \
	  tests ($(PROPTEST_CASES) cases per property) in $$(( $$(date +%s) - start )) s"; exit $$status

test-python: dev browser ## pytest (doctests, notebooks, the package's tests, the hypothesis battery)
	@start=$$(date +%s); $(PY) -m pytest -q 2>&1 | tee $(VENV)/.python-test.log; status=$${PIPESTATUS[0]}; \
	  echo "Python suite: $$(tail -1 $(VENV)/.python-test.log | grep -Eo '[0-9]+ (passed|failed|skipped|error)' | awk '{s+=$$1} END {print s}') \
	  tests ($(PROPERTY_EXAMPLES) examples per property) in $$(( $$(date +%s) - start )) s"; exit $$status

test: lint test-rust test-python ## every test: lint, Rust, Python; prints each suite's size and runtime

test-nightly: ## the larger profile: every test with ten times the property examples and cases
	$(MAKE) test PROPERTY_EXAMPLES=5000 PROPTEST_CASES=2560

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

.PHONY: help venv dev browser lint test-rust test-python test test-nightly bench clean
