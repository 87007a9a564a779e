"""``vigil-fake-anthropic``: serve the fake Anthropic API until interrupted.

Point the SDK at it with ``ANTHROPIC_BASE_URL=http://HOST:PORT`` (any non-empty
``ANTHROPIC_API_KEY`` unless ``--api-key`` fixes one); script it through /_fake (see
:mod:`vigil_tools.fake_anthropic.control`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from aiohttp import web

from vigil_tools.fake_anthropic.app import build_app
from vigil_tools.fake_anthropic.state import FakeConfig, FakeState


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="vigil-fake-anthropic", description=__doc__)
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    add("--port", type=int, default=8765, help="port (default %(default)s)")
    add("--latency", type=float, default=0.0, help="seconds added to every API request")
    add("--batch-delay", type=float, default=2.0, help="seconds a batch stays in_progress")
    add("--min-cache-tokens", type=int, default=1024, help="shortest cacheable prefix")
    add(
        "--api-key",
        default=os.environ.get("VIGIL_FAKE_ANTHROPIC_KEY"),
        help="the only key accepted (default: $VIGIL_FAKE_ANTHROPIC_KEY, else any)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    config = FakeConfig(args.api_key, args.latency, args.batch_delay, args.min_cache_tokens)
    app = build_app(FakeState(config=config))
    print(f"vigil-fake-anthropic on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0
