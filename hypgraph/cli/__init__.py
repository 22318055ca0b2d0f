r"""The command-line layer: programs built on the whole library (it may
import every subpackage; nothing in the library imports it). Today the demo
of ``make demo`` (:mod:`hypgraph.cli.demo`)."""
