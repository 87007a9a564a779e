"""``python -m bench.retention [--rows 10000000] ...``: the retention benchmark through
bench.run."""

import sys

from bench.run import main

raise SystemExit(main(["retention", *sys.argv[1:]]))
