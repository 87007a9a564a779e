"""``python -m vigil_tools.camsim``: the same as ``vigil-camsim``."""

import sys

from vigil_tools.camsim.cli import main

sys.exit(main())
