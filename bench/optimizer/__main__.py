"""``python -m bench.optimizer [--fleets 50,200] ...``: the optimizer benchmark through
bench.run."""

import sys

from bench.run import main

raise SystemExit(main(["optimizer", *sys.argv[1:]]))
