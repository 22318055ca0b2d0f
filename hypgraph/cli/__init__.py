r"""The command-line layer: programs built on the whole library (it may
import every subpackage; nothing in the library imports it).

- :mod:`hypgraph.cli.main`: the ``hypgraph`` console command, whose
  subcommands live in :mod:`~hypgraph.cli.train`, :mod:`~hypgraph.cli.recommend`,
  :mod:`~hypgraph.cli.evaluate`, :mod:`~hypgraph.cli.export` and
  :mod:`~hypgraph.cli.plot` (``hypgraph stats`` runs ``hypgraph-stats``);
  :mod:`~hypgraph.cli.config` (settings, TOML), :mod:`~hypgraph.cli.data`
  (reading and splitting what ``train`` is given) and :mod:`~hypgraph.cli.run`
  (the run folder) serve them.
- :mod:`hypgraph.cli.demo`: the demo of ``make demo``.
"""
