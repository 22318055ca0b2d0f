# The two commands of the README: `make demo` and `make test`.
# `make demo` also runs the `quick` benchmark suite (about 2 minutes on 2 cores) into
# demo_output/quick/, leaving the committed benchmarks/results/quick/ alone.
# Both create .venv when missing and install torch *first*, pinned, because a
# bare `torch` requirement pulls a multi-GB CUDA build.
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hypgraph-stats --no-progress --plot demo_output
	$(PY) -m benchmarks run quick --out demo_output/quick
	$(PY) -m hypgraph.cli.demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

clean:
	rm -rf $(VENV) build *.egg-info
