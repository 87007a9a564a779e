"""onvif_sim: simulated ONVIF cameras (Device, Media, Media2, Imaging over SOAP 1.2) built
from real Axis and Hikvision captures, for the optimizer's client, tests, demo and benchmark.

Answers replay the captures where they exist and are rendered from a per-camera state
(so Sets change later Gets); encoder and imaging options, Media2, Imaging and the Set
operations are added. WS-Security digests are checked against a skewable camera clock;
snapshots are real photographs degraded by scene knobs and the imaging settings, behind
HTTP Digest auth; faults are injectable at run time. See docs/onvif-sim.md;
:func:`testing.running_onvif_sim` for tests; ``vigil-onvif-sim --help`` for the server.
"""

from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.fleet import Fleet, fleet_specs
from vigil_tools.onvif_sim.spec import CameraSpec
from vigil_tools.onvif_sim.testing import CameraHandle, OnvifSim, running_onvif_sim

__all__ = [
    "CameraHandle", "CameraSpec", "Fleet", "OnvifSim", "SimCamera", "fleet_specs",
    "running_onvif_sim",
]  # fmt: skip
