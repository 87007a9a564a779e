"""A SOAP camera double for the ONVIF client tests: real HTTP, real captured answers.

:class:`CameraDouble` is an aiohttp server on 127.0.0.1 that answers each SOAP request by its
body element: ``<Operation>.Response.xml`` from a vendor folder of real captures
(the copies in ``vigil_tools/onvif_sim/profiles/<vendor>``, or ``$VIGIL_ONVIF_FIXTURES``)
for the device and Media 1 operations, byte for byte as the camera sent it; an answer given in
``answers`` (``"media2:GetProfiles"``, ``"imaging:GetOptions"``...: the test's own, written per
the ONVIF schema for what the captures lack); otherwise a SOAP 1.2 ``ter:ActionNotSupported`` fault.

Like a camera it checks the WS-Security UsernameToken digest of every request except
``GetSystemDateAndTime`` (unless ``auth_clock``): ``Base64(SHA1(nonce + created +
password))`` and a ``Created`` within ``tolerance_s`` of its own clock, which runs from the
time in the captured ``GetSystemDateAndTime`` (years in the past for both captures), or from
``clock`` if given (then it states its own clock in ``GetSystemDateAndTime``). A
failure answers a ``ter:NotAuthorized`` fault. ``transform`` rewrites every answer's text
(whitespace and namespace-prefix variants); operations in ``stall`` never answer;
``requests`` records (service, operation, body
element) for assertions on what the client sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from lxml import etree  # type: ignore[import-untyped]

from vigil_tools import onvif_sim
from vigil_tools.onvif_sim.wsse import check_token
from vigil_tools.onvif_sim.xmlkit import SoapFault

_SHIPPED = Path(onvif_sim.__file__).parent / "profiles"
FIXTURES = Path(os.environ.get("VIGIL_ONVIF_FIXTURES", _SHIPPED))
"""The real captures: the copies the simulator ships (``profiles/NOTICE.md``)."""

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SERVICES = {
    "http://www.onvif.org/ver10/device/wsdl": "device",
    "http://www.onvif.org/ver10/media/wsdl": "media",
    "http://www.onvif.org/ver20/media/wsdl": "media2",
    "http://www.onvif.org/ver20/imaging/wsdl": "imaging",
}
NAMESPACES = (
    'xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tr2="http://www.onvif.org/ver20/media/wsdl" '
    'xmlns:timg="http://www.onvif.org/ver20/imaging/wsdl" '
    'xmlns:ter="http://www.onvif.org/ver10/error"'
)


def envelope(body: str) -> str:
    """A SOAP 1.2 envelope around ``body`` with the usual ONVIF prefixes."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {NAMESPACES}>'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    )


def fault(subcode: str, reason: str) -> str:
    """A SOAP 1.2 sender fault with an ONVIF ``ter:`` subcode."""
    return envelope(
        "<env:Fault><env:Code><env:Value>env:Sender</env:Value>"
        f"<env:Subcode><env:Value>ter:{subcode}</env:Value></env:Subcode></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{reason}</env:Text></env:Reason></env:Fault>'
    )


def captured_clock(folder: Path) -> dt.datetime:
    """The UTC time in a captured ``GetSystemDateAndTime`` answer."""
    root = etree.fromstring((folder / "GetSystemDateAndTime.Response.xml").read_bytes())
    tt = "{http://www.onvif.org/ver10/schema}"

    def part(name: str) -> int:
        return int(root.find(f".//{tt}UTCDateTime//{tt}{name}").text)

    return dt.datetime(
        part("Year"),
        part("Month"),
        part("Day"),
        part("Hour"),
        part("Minute"),
        part("Second"),
        tzinfo=dt.UTC,
    )


def clock_answer(now: dt.datetime) -> str:
    """A ``GetSystemDateAndTime`` answer stating ``now`` (UTC)."""
    return envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        f"<tt:UTCDateTime><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}"
        f"</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}"
        f"</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


@dataclass
class CameraDouble:
    """See the module docstring."""

    folder: Path | None
    user: str = "admin"
    password: str = "s3cret-Pw"
    answers: dict[str, str] = field(default_factory=dict)
    transform: Callable[[str], str] | None = None
    auth_clock: bool = False
    tolerance_s: float = 10.0
    clock: dt.datetime | None = None
    stall: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, etree._Element]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _started: float = 0.0
    _own_clock: bool = False
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> dt.datetime:
        """The camera's clock: the captured time, running since the double started."""
        base = self.clock or dt.datetime.now(dt.UTC)
        return base + dt.timedelta(seconds=time.monotonic() - self._started)

    async def start(self) -> None:
        self._own_clock = self.clock is not None
        if self.clock is None and self.folder is not None:
            self.clock = captured_clock(self.folder)
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started = time.monotonic()

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def operations(self, service: str | None = None) -> list[str]:
        """The operations received, in order (of one service if given)."""
        return [op for svc, op, _ in self.requests if service in (None, svc)]

    def body_of(self, operation: str) -> etree._Element:
        """The body element of the last request of ``operation``."""
        return next(body for _, op, body in reversed(self.requests) if op == operation)

    async def _handle(self, request: web.Request) -> web.Response:
        root = etree.fromstring(await request.read())
        body = root.find(f"{{{SOAP12}}}Body")[0]
        qname = etree.QName(body)
        service = SERVICES.get(qname.namespace, "?")
        operation = qname.localname
        self.requests.append((service, operation, body))
        if operation in self.stall:
            await self._stopping.wait()  # a camera that never answers (the client times out)
            return self._reply(fault("Stopped", "the double stopped"), 500)
        if not (operation == "GetSystemDateAndTime" and not self.auth_clock):
            problem = self._auth_problem(root)
            if problem:
                return self._reply(fault("NotAuthorized", problem), 400)
        answer = self._answer(service, operation)
        if answer is None:
            return self._reply(fault("ActionNotSupported", f"{operation} not supported"), 400)
        return self._reply(answer, 200)

    def _answer(self, service: str, operation: str) -> str | None:
        if operation == "GetSystemDateAndTime" and self._own_clock:
            return clock_answer(self.now())
        given = self.answers.get(f"{service}:{operation}")
        if given is not None:
            return given
        if self.folder is not None and service in ("device", "media"):
            path = self.folder / f"{operation}.Response.xml"
            if path.exists():
                return path.read_text(encoding="utf-8")
        return None

    def _reply(self, text: str, status: int) -> web.Response:
        if self.transform is not None and status == 200:
            text = self.transform(text)
        return web.Response(
            body=text.encode("utf-8"),
            status=status,
            content_type="application/soap+xml",
            charset="utf-8",
        )

    def _auth_problem(self, root: etree._Element) -> str | None:
        """Why the request's WS-Security token is refused (the simulator's own check)."""
        try:
            check_token(root.find(f"{{{SOAP12}}}Header"), self.user, self.password, self.now(),
                        self.tolerance_s)  # fmt: skip
        except SoapFault as refused:
            return refused.reason
        return None
