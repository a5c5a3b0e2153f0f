# Patronage: one front door. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# abi3 (CPython >= 3.9) wheels for manylinux2014 (glibc 2.17), linked by zig (the ziglang package: no docker),
# debug symbols stripped
WHEEL_BUILD := $(PY) -m maturin build --release --strip --zig --compatibility manylinux2014 --out dist
# maturin runs `python -m ziglang` with the python on PATH
WHEEL_ENV := PATH="$(abspath $(VENV))/bin:$$PATH" VIRTUAL_ENV="$(abspath $(VENV))"
X86_WHEEL = $(wildcard dist/patronage-*_x86_64.whl)
# the lowest versions pyproject.toml claims, tested by `make test-lowest`
LOWEST_VENV := .venv-lowest
LOWEST := "numpy==1.23.2" "pandas==2.0.3" "matplotlib==3.6.0" "pyparsing==3.0.9" "scikit-learn==1.7.2" "scipy==1.11.4" "pyarrow==14.0.2" \
	"pytest==8.3.5"

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.9,<2" numpy pandas pytest hypothesis mpmath scikit-learn matplotlib mypy \
		nbclient nbformat ipykernel skops ziglang auditwheel sphinx numpydoc pydata-sphinx-theme myst-nb selenium \
		polars pyarrow duckdb tqdm psutil shap  # the optional tables and out-of-core tests fail under CI=true without them
	$(PY) -m pip install --quiet "pyspark[sql]>=4.0"  # the Spark tests (with Java: `make java`) fail under CI=true without it
	$(PY) -m pip install --quiet "pyspark[connect]>=4.0"  # tests/test_spark_connect.py: the Spark Connect client (grpcio, protobuf, zstandard)
	$(PY) -m pip install --quiet "dask[dataframe,distributed]"  # tests/test_dask.py fails under CI=true without it
	$(PY) -m pip install --quiet scipy statsmodels  # test_campaign's references (Newcombe, Welch, power, Holm)
	$(PY) -m pip install --quiet scikit-uplift  # test-only reference for the uplift metrics (tests/test_uplift.py)
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the build and test dependencies

dev: $(STAMP) ## build the extension (release) into .venv, editable
	VIRTUAL_ENV=$(abspath $(VENV)) $(PY) -m maturin develop --release --quiet

browser: ## Chromium and its WebDriver (Debian packages) for the report's browser test
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; }

java: ## Java 17 (Debian's default-jre-headless) for the Spark tests; nothing when `java -version` works
	@java -version >/dev/null 2>&1 || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq default-jre-headless; }

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


wheel: $(STAMP) ## the x86_64 wheel (abi3, manylinux2014, stripped) in dist/, checked
	rm -f dist/patronage-*_x86_64.whl
	$(WHEEL_ENV) $(WHEEL_BUILD) --target x86_64-unknown-linux-gnu
	$(PY) .ci/check_dist.py dist x86_64

install-wheel: wheel ## install dist/'s x86_64 wheel into .venv (in place of `make dev`)
	$(PY) -m pip install --quiet --force-reinstall --no-deps $(X86_WHEEL)
	@# the package's doctests import the source tree's modules, next to the wheel's compiled core
	$(PY) -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('patronage/_core.abi3.so', 'python')" $(X86_WHEEL)

wheels: wheel ## every release file in dist/: the x86_64 and aarch64 wheels and the sdist, checked
	rustup target add aarch64-unknown-linux-gnu
	rm -f dist/patronage-*_aarch64.whl dist/patronage-*.tar.gz
	$(WHEEL_ENV) $(WHEEL_BUILD) --target aarch64-unknown-linux-gnu
	$(PY) -m maturin sdist --out dist
	$(PY) .ci/check_dist.py dist x86_64 aarch64 sdist

test-python: install-wheel browser java ## pytest on the installed wheel (doctests, notebooks, the docs' examples, the tests, the hypothesis battery)
	@start=$$(date +%s); PATRONAGE_TEST_WHEEL=1 $(PY) -m pytest -q 2>&1 | tee $(VENV)/.python-test.log; status=$${PIPESTATUS[0]}; \
	  echo "Python suite: $$(tail -1 $(VENV)/.python-test.log | grep -Eo '[0-9]+ (passed|failed|skipped|error)' | awk '{s+=$$1} END {print s}') \
	  tests ($(PROPERTY_EXAMPLES) examples per property) in $$(( $$(date +%s) - start )) s"; exit $$status

test-lowest: wheel ## the tests with the lowest supported numpy, pandas, matplotlib, scikit-learn
	python3 -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install --quiet $(LOWEST) hypothesis mpmath skops mypy selenium polars duckdb tqdm psutil \
		"dask[dataframe,distributed]"  # resolves to dask 2024.8.1 with numpy 1.23.2 (pip --dry-run)
	$(LOWEST_VENV)/bin/python -m pip install --quiet $(LOWEST) "statsmodels>=0.14,<0.15" \
		scikit-uplift  # the references of test_campaign (statsmodels 0.15 needs numpy >= 1.23.5) and test_uplift
	$(LOWEST_VENV)/bin/python -m pip install --quiet --force-reinstall --no-deps $(X86_WHEEL)
	$(LOWEST_VENV)/bin/python -m pip check
	@# tests/ only: the doctests print numpy 2 and pandas 2 reprs; left to `make test-python` (CI time):
	@# the notebooks, the browser, the README's fresh install and the hypothesis battery
	@# and not Spark's (pyspark 4 needs pandas >= 2.2; they run in `make test-python`)
	PATRONAGE_TEST_WHEEL=1 $(LOWEST_VENV)/bin/python -m pytest -q -p no:cacheprovider tests \
		--ignore=tests/test_notebooks.py --ignore=tests/test_report_browser.py --ignore=tests/test_properties.py \
		--ignore-glob='tests/test_spark_*.py' \
		--deselect tests/test_readme.py::test_readme_first_line_on_a_fresh_debian_path

docs: $(STAMP) ## the documentation site in docs/_build/html (warnings are errors)
	@$(PY) -c "import patronage" 2>/dev/null || $(MAKE) dev
	@# the notebooks are rendered from the copies the test suite executed (build/notebooks)
	@$(PY) -c "import pathlib, sys; sys.exit(any(not (pathlib.Path('build') / p).is_file() or \
		(pathlib.Path('build') / p).stat().st_mtime < p.stat().st_mtime for p in pathlib.Path('notebooks').glob('*.ipynb')))" \
		|| $(PY) -m pytest -q -p no:cacheprovider tests/test_notebooks.py
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

test: lint test-rust test-python ## every test: lint, Rust, Python on the installed wheel; prints each suite's size and runtime

test-nightly: ## the larger profile: every test with ten times the property examples and cases
	$(MAKE) test PROPERTY_EXAMPLES=5000 PROPTEST_CASES=2560

bench: dev ## the benchmarks against the peers (pandas, polars, scikit-learn, lifetimes)
	$(PY) -m pip install --quiet polars lightgbm
	$(PY) benches/bench_rfm.py
	$(PY) benches/bench_loyalty.py
	$(PY) benches/bench_churn.py
	$(PY) benches/bench_btyd.py  # lifetimes runs in LIFETIMES_PYTHON (see the script)
	$(PY) benches/bench_cluster.py

clean: ## remove build products and the virtual environments
	cargo clean
	rm -rf $(VENV) $(LOWEST_VENV) python/patronage/_core*.so dist build docs/_build docs/generated docs/notebooks

.PHONY: help venv dev browser java lint test-rust wheel install-wheel wheels test-python test-lowest docs test test-nightly bench clean
