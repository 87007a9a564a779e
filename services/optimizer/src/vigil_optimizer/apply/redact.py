"""Keep credentials out of what the applier stores and logs: :class:`Redactor`.

The applier never holds a camera's credentials (the :class:`CameraLink` is built elsewhere),
and links must not put them in their errors. Every text the applier stores anyway
(``applied_configs.error_message``, ``audit_log.details``, alert annotations, logs) goes
through a :class:`Redactor` first, as a second line of defence:

- the secrets it was built with (whoever builds the link builds the redactor too,
  :meth:`Redactor.for_credentials`) are replaced wherever they appear;
- whatever the secrets, the usual carriers of one are masked: URL user information
  (``http://user:pw@host``, or ``user:pw@host`` without a scheme), ``password=…`` and
  ``"password": "…"`` pairs, WS-Security ``<wsse:Password …>…</wsse:Password>`` and
  ``<wsse:Nonce>`` elements, and HTTP ``Authorization:`` header values.

Texts are also cut to :data:`MAX_TEXT` characters, without NUL characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from vigil_schema.camera import CameraCredentials

__all__ = ["MASK", "MAX_TEXT", "Redactor"]

MASK: Final = "***"
MAX_TEXT: Final = 2000

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s@]*@"), rf"\1{MASK}@"),
    (re.compile(r"([\w.%+-]+):[^\s@/:]+@"), rf"\1:{MASK}@"),
    (
        re.compile(r"(?is)(<(?:\w+:)?(Password|Nonce)\b[^>]*>).*?(</(?:\w+:)?\2\s*>)"),
        rf"\1{MASK}\3",
    ),
    (re.compile(r"(?i)(authorization\s*[:=]\s*)[^\r\n]+"), rf"\1{MASK}"),
    (
        re.compile(
            r"""(?i)(["']?(?:password|passwd|pwd|secret)["']?\s*[:=]\s*)(["']?)[^\s"',;&]+"""
        ),
        rf"\1\2{MASK}",
    ),
)


class Redactor:
    """Masks known secrets and secret-looking fragments in a text (module docstring)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    @classmethod
    def for_credentials(cls, credentials: CameraCredentials | None) -> Redactor:
        """A redactor for one camera's password (and nothing else when it has none)."""
        if credentials is None:
            return cls()
        return cls([credentials.password.get_secret_value()])

    def __call__(self, text: str) -> str:
        """``text`` with secrets masked, at most :data:`MAX_TEXT` characters."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        text = text.replace("\x00", "")  # stored in text columns and stream messages
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        return text
