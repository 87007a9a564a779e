"""``python -m bench.analyzer [--frames N] ...``: the analyzer benchmark through bench.run."""

import sys

from bench.run import main

raise SystemExit(main(["analyzer", *sys.argv[1:]]))
