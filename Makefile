# The two commands of the README: `make demo` and `make test`.
# `make demo` also runs the `quick` benchmark suite (4-8 minutes on 2 cores, every run to convergence) into
# demo_output/quick/, leaving the committed benchmarks/results/quick/ alone, and
# `hypgraph train` + `recommend` + `plot` on the synthetic interactions (about 30 s).
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
# your own data in two commands, on the synthetic file the demo just wrote
	$(VENV)/bin/hypgraph train demo_output/synthetic_interactions.tsv --out demo_output/run --epochs 5 --overwrite --no-progress
	$(VENV)/bin/hypgraph recommend demo_output/run --all --k 10 --out demo_output/recommendations.csv
	$(VENV)/bin/hypgraph plot demo_output/run

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

clean:
	rm -rf $(VENV) build *.egg-info
