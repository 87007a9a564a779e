"""``python -m vigil_tools.fake_anthropic``: the same as ``vigil-fake-anthropic``."""

import sys

from vigil_tools.fake_anthropic.cli import main

sys.exit(main())
