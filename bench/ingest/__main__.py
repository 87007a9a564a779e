"""``python -m bench.ingest [--duration S] ...``: the ingest benchmark through bench.run."""

import sys

from bench.run import main

raise SystemExit(main(["ingest", *sys.argv[1:]]))
