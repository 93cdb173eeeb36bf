"""Stand-ins for the world outside the app: a real SMTP server (aiosmtpd) and an SMS gateway, both on
127.0.0.1, started by the test, counting what reached them."""
from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from app.notify.cli import StandinGateway


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message; refuses recipients at ``refuse.example``."""

    def __init__(self):
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address.endswith("@refuse.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture(name="gateway")
def gateway_fixture():
    server = StandinGateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(name="mailbox")
def mailbox_fixture():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


def channel_config(gateway, mailbox, **overrides) -> dict:
    config = {"SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_TIMEOUT": 0.5, "SMTP_HOST": "127.0.0.1",
              "SMTP_PORT": mailbox.port, "SMTP_FROM": "kaoping@bureau.example", "SMTP_TIMEOUT": 2,
              "SMS_QUIET_HOURS": "", "NOTIFY_RETRY_SECONDS": 0, "NOTIFY_MAX_ATTEMPTS": 3,
              "SITE_BASE_URL": "https://kaoping.bureau.example"}
    config.update(overrides)
    return config
