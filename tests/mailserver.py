"""A real SMTP server on loopback for the mail tests (aiosmtpd in a thread), collecting what it receives.

Nothing of smtplib is mocked: the app connects over TCP, speaks SMTP and the server parses the message.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        message = message_from_bytes(envelope.content, policy=default)
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """start() / stop() (on the same port, to play a server that goes down and comes back)."""

    def __init__(self, *, login: tuple[str, str] | None = None, tls_context=None):
        self.port = free_port()
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        self.login = login
        self.tls_context = tls_context
        self.controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and self.login is not None and \
            (auth_data.login.decode(), auth_data.password.decode()) == self.login
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        kwargs = {}
        if self.login is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.tls_context is not None)
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to_addresses(self) -> list[str]:
        with self.lock:
            return sorted(r.to for r in self.received)
