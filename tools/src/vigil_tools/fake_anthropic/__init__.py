"""fake_anthropic: an HTTP double of the Anthropic Messages API for the real anthropic SDK.

POST /v1/messages (text and base64 image blocks, system prompts with `cache_control`,
tools and `tool_choice`), /v1/messages/count_tokens and the Message Batches endpoints, with
the API's validation, error shapes and usage arithmetic (:mod:`usage`), tool inputs generated
from the tool's schema or scripted, and scriptable faults (429 with retry-after, 529, 500,
slow, malformed tool input). ``vigil-fake-anthropic --help`` for the server;
:func:`testing.running_fake` for tests; :class:`remote.RemoteFake` to script a server
running elsewhere.
"""

from vigil_tools.fake_anthropic.faults import Fault
from vigil_tools.fake_anthropic.state import FakeConfig, FakeState
from vigil_tools.fake_anthropic.testing import FakeAnthropic, running_fake

__all__ = ["FakeAnthropic", "FakeConfig", "FakeState", "Fault", "running_fake"]
