"""Run the amqtt MQTT 3.1.1 broker on 127.0.0.1 (the stack's embedded MQTT fallback).

Usage: ``python -m vigil_runtime.stack.amqtt_broker --port N``. Runs until SIGTERM/SIGINT,
then shuts the broker down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from amqtt.broker import Broker


def broker_config(port: int) -> dict[str, Any]:
    """Loopback TCP listener, anonymous clients allowed, no $SYS chatter."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


async def serve(port: int) -> None:
    """Start the broker and keep it running until a termination signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    broker = Broker(broker_config(port))
    await broker.start()
    logging.getLogger(__name__).info("amqtt broker listening on 127.0.0.1:%d", port)
    await stop.wait()
    await asyncio.wait_for(broker.shutdown(), timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
