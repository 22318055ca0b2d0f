r"""``python -m hypgraph`` is the ``hypgraph`` command, so that
``torchrun --nproc_per_node N -m hypgraph train ...`` launches it in N
processes."""
import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
