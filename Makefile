# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo   -> .venv + install + `eoxr demo` on the built-in sample data
#   make test   -> .venv + install (with test extras) + pytest (all but the slow tests;
#                  `make test-slow` runs those, CI runs both)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch first, pinned: a CPU wheel of 2.13.0 lies on local disk; an unpinned torch pulls CUDA.
TORCH := torch==2.13.0
# Large temporaries are kept by glibc instead of faulted in again per chunk (see PERF_NOTES).
export MALLOC_MMAP_THRESHOLD_ ?= 33554432
export MALLOC_TRIM_THRESHOLD_ ?= 2147483647

.PHONY: install install-test install-bench demo test test-slow bench lab lint clean

$(VENV)/.created:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e ".[all]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[all,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) install -q -e ".[all,test,bench]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

demo: install
	$(VENV)/bin/eoxr demo

# `make test`: everything but the tests marked slow (browser, notebooks, real-data and
# cluster cases; under 10 minutes on 2 cores); `make test-slow`: those; CI runs both (.ci/run).
test: install-test
	$(VENV)/bin/ruff check eoxr tests benchmarks scripts
	$(VENV)/bin/ruff format --check eoxr tests benchmarks scripts
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules eoxr tests -m "not slow" $(PYTEST_ARGS)

test-slow: install-test
	$(PY) -m pytest -q -p no:cacheprovider tests -m slow $(PYTEST_ARGS)

bench: install-bench
	@for f in benchmarks/[!_]*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lab: install-test
	$(VENV)/bin/jupyter lab notebooks/

lint: install-test
	$(VENV)/bin/ruff check eoxr tests benchmarks scripts
	$(VENV)/bin/ruff format --check eoxr tests benchmarks scripts

clean:
	rm -rf $(VENV) eoxr-output build *.egg-info
