# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
#   make test       ruff + the whole suite (about 20 minutes on 2 cores; its 25 slowest tests
#                   listed at the end); what CI (.ci/run) runs.
#   make test-fast  ruff + the unit tests (about 1.5 minutes on 2 cores): run it before every
#                   commit. It skips the tests marked `slow` (pyproject.toml says what that
#                   means): training beyond a step or two, multi-worker clusters, subprocesses that
#                   start TensorFlow, pretrained-size encoders, whole reports, the end-to-end demo.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo_out

.PHONY: install footage test test-fast demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,gcp]'
	touch $(STAMP)

install: $(STAMP)

# Real photographs from Debian's opencv-doc and python3-skimage (apt-get download, cached in
# .cache/footage):
# `vidrec camera` films them; where the package cannot be had, one line says so and the
# real-footage tests skip.
footage: $(STAMP)
	$(BIN)/python -m pipeline.footage

test: $(STAMP) footage
	$(BIN)/ruff check .
	$(BIN)/pytest -q --durations=25

test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow"

demo: $(STAMP)
	$(BIN)/vidrec demo --out $(DEMO_OUT)

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
