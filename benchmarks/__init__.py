r"""Benchmark suites comparing hyperbolic and Euclidean recommenders.

``python -m benchmarks --list`` lists the suites and ``python -m benchmarks
run SUITE`` runs one (the command line is :mod:`benchmarks.cli`, the
orchestration :mod:`benchmarks.runner`); suites live in
:mod:`benchmarks.suites`. The stand-alone scripts (``load_kgat.py``,
``stats_report.py``, ``recommender_speed.py``) still run as
``python benchmarks/NAME.py``. Nothing in :mod:`hypgraph` imports this package.
"""
