"""``vigil-camsim``: run a simulated fleet and print what it published as JSON on stdout.

The camera ids go to stderr at start (register them before, e.g. with ``vigil cameras add``);
the summary (counts by kind, acknowledgements, rate) is the only thing on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vigil_tools.camsim.client import ConnectError
from vigil_tools.camsim.config import DEFAULT_URL, FleetConfig
from vigil_tools.camsim.fleet import Fleet
from vigil_tools.camsim.photos import PhotosUnavailableError


def _resolution(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (one per :class:`FleetConfig` field)."""
    parser = argparse.ArgumentParser(prog="vigil-camsim", description=__doc__)
    add = parser.add_argument
    add(
        "--url",
        default=os.environ.get("VIGIL_MQTT_URL", DEFAULT_URL),
        help="broker URL (default: $VIGIL_MQTT_URL or %(default)s)",
    )
    add("--cameras", type=int, default=4, help="number of cameras")
    add("--camera-prefix", default="cam-", help="camera id prefix (ids are PREFIX001, ...)")
    add("--first-index", type=int, default=1, help="index of the first camera")
    add("--fps", type=float, default=5.0, help="events per second per camera (0: unpaced)")
    add("--batch", type=int, default=1, help="events per message (a JSON array when > 1)")
    add("--bad-ratio", type=float, default=0.0, help="fraction of malformed messages")
    add("--duration", type=float, default=None, help="seconds to run (default 10 w/o --count)")
    add("--count", type=int, default=None, help="stop after this many event messages")
    add("--health-interval", type=float, default=10.0, help="seconds between samples (0: off)")
    add("--frame-fps", type=float, default=0.0, help="JPEG frames per second per camera")
    add("--resolution", type=_resolution, default=(1280, 720), help="WIDTHxHEIGHT of frames")
    add("--frame-pool", type=int, default=12, help="pre-encoded frames per background")
    add("--qos", type=int, choices=(0, 1, 2), default=1)
    add("--window", type=int, default=100, help="max unacknowledged publishes per connection")
    add("--clients", type=int, default=None, help="connections sharing the cameras (no LWT)")
    add(
        "--lwt",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one connection per camera with a Last Will (default: on up to 32 cameras)",
    )
    add("--protocol", choices=("v5", "v311"), default="v5")
    add("--client-id-prefix", default="camsim")
    add("--drain-timeout", type=float, default=15.0, help="seconds to wait for acks at the end")
    add("--seed", type=int, default=None, help="random seed (reproducible scenes)")
    add("--degraded", type=int, default=0, help="the first N cameras report a dark, noisy picture")
    add("--summary-file", type=Path, default=None, help="also write the summary JSON here")
    return parser


def config_from_args(args: argparse.Namespace) -> FleetConfig:
    """Map parsed options onto a :class:`FleetConfig` (raises ``ValueError`` if invalid)."""
    duration = args.duration if args.duration is not None or args.count is not None else 10.0
    return FleetConfig(
        url=args.url,
        cameras=args.cameras,
        camera_prefix=args.camera_prefix,
        first_index=args.first_index,
        fps=args.fps,
        batch=args.batch,
        bad_ratio=args.bad_ratio,
        duration_s=duration,
        count=args.count,
        health_interval_s=args.health_interval,
        frame_fps=args.frame_fps,
        resolution=args.resolution,
        frame_pool=args.frame_pool,
        qos=args.qos,
        window=args.window,
        clients=args.clients,
        lwt=args.lwt,
        protocol=args.protocol,
        client_id_prefix=args.client_id_prefix,
        drain_timeout_s=args.drain_timeout,
        seed=args.seed,
        degraded=args.degraded,
    )


async def _run(fleet: Fleet) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, fleet.stop)
    return await fleet.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; exit 0 when every message was acknowledged."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"vigil-camsim: {exc}", file=sys.stderr)
        return 2
    fleet = Fleet(config)
    print(f"vigil-camsim: cameras {' '.join(fleet.camera_ids)}", file=sys.stderr, flush=True)
    try:
        summary = asyncio.run(_run(fleet))
    except (ConnectError, PhotosUnavailableError) as exc:
        print(f"vigil-camsim: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(summary, indent=2)
    print(text, flush=True)
    if args.summary_file is not None:
        args.summary_file.write_text(text + "\n", encoding="utf-8")
    return 0 if summary["failed"] == 0 and summary["unacked"] == 0 else 1
