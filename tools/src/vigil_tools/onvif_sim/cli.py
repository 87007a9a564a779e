"""``vigil-onvif-sim``: serve N simulated ONVIF cameras until interrupted.

Camera ``i`` is ``onvif-<i>`` on ``--base-port + i``; ``--vendor mixed`` alternates
Hikvision and Axis. The control API (``/sim/...``, see :mod:`vigil_tools.onvif_sim.control`)
is served on every camera port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence

from vigil_tools.onvif_sim.fleet import Fleet, fleet_specs
from vigil_tools.onvif_sim.spec import CameraSpec


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="vigil-onvif-sim", description=__doc__)
    add = parser.add_argument
    add("--cameras", type=int, default=4, help="number of cameras (default %(default)s)")
    add("--base-port", type=int, default=18000, help="port of camera 0 (default %(default)s)")
    add("--vendor", choices=("axis", "hikvision", "mixed"), default="mixed")
    add("--bind", default="127.0.0.1", help="address to listen on (default %(default)s)")
    add("--host", default=None, help="address advertised in XAddrs (default: --bind)")
    add("--user", default="admin", help="camera username (default %(default)s)")
    add("--password", default="vigil-sim-pass", help="camera password")
    add("--skew-s", type=float, default=0.0, help="camera clock minus real time, seconds")
    add("--latency-ms", type=float, default=0.0, help="added to every SOAP answer")
    add("--darkness", type=float, default=0.0, help="scene darkness 0..1")
    add("--noise", type=float, default=0.0, help="scene noise (grey levels)")
    add("--blur", type=float, default=0.0, help="scene blur radius (pixels)")
    add("--pretty-xml", action="store_true", help="indented answers, whitespace around values")
    for service in ("imaging", "media2", "encoder-options"):
        add(f"--no-{service}", action="store_true", help=f"cameras without {service}")
    return parser


async def _serve(fleet: Fleet) -> None:
    await fleet.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    first = next(iter(fleet.cameras.values()))
    print(f"vigil-onvif-sim: {len(fleet.cameras)} cameras from port {first.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await fleet.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; 2 on invalid options."""
    parser = build_parser()
    args = parser.parse_args(argv)
    template = CameraSpec(
        name="template", username=args.user, password=args.password,
        host=args.host or args.bind, skew_s=args.skew_s, latency_ms=args.latency_ms,
        imaging=not args.no_imaging, media2=False if args.no_media2 else None,
        encoder_options=not args.no_encoder_options, darkness=args.darkness,
        noise=args.noise, blur=args.blur, pretty_xml=args.pretty_xml,
    )  # fmt: skip
    try:
        specs = fleet_specs(args.cameras, args.base_port, args.vendor, template)
        fleet = Fleet(specs, bind=args.bind)
    except ValueError as exc:
        parser.error(str(exc))
    asyncio.run(_serve(fleet))
    return 0
