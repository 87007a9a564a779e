"""``python -m bench.alerter [--alerts 2000] ...``: the alerter benchmark through bench.run."""

import sys

from bench.run import main

raise SystemExit(main(["alerter", *sys.argv[1:]]))
