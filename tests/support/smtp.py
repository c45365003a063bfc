"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests and benchmarks."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://\S+")


@dataclass
class Delivered:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""

    def links(self) -> list[str]:
        return _LINK.findall(self.body)


@dataclass
class _Handler:
    received: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Delivered(to=list(envelope.rcpt_tos), message=parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """`with SmtpServer() as smtp:` listens on 127.0.0.1:`smtp.port` until the block ends."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Delivered]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse(self, refused: bool = True) -> None:
        self.handler.refuse = refused

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()

    def wait_for(self, count: int, *, to: str | None = None, timeout: float = 30) -> list[Delivered]:
        """Messages (to this address) once there are `count` of them; waits for a real worker to deliver."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if to is None or to in m.to]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)  # the worker delivers in another thread or process
