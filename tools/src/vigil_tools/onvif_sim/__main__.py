"""``python -m vigil_tools.onvif_sim``: the same as ``vigil-onvif-sim``."""

import sys

from vigil_tools.onvif_sim.cli import main

sys.exit(main())
