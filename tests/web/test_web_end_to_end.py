"""Send with the local provider to a real SMTP server, unsubscribe with the message's
own List-Unsubscribe URL through the real web server, and the next send skips them."""

from __future__ import annotations

import email
import re
import shutil
import threading
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus

from .support import MEMBERS, OLD_SECRET, SECRET, consent_log, free_port

local = pytest.importorskip("newsletter.providers.local", reason="needs the local provider")


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def test_one_click_from_a_received_message_stops_the_next_send(
    project_dir, example_file, monkeypatch, inbox, start_server, client
):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_OLD_SECRETS", OLD_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", inbox.url)
    settings = load_settings(project_dir / "newsletter.yaml")
    sender = local.LocalProvider(settings)
    sender.import_members(MEMBERS)

    first = sender.send(load_issue(example_file, settings))
    assert first.sent == len(MEMBERS)
    received = inbox.to("sam@example.org")
    assert len(received) == 1
    message = received[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    urls = re.findall(r"<(https://[^>]+)>", str(message["List-Unsubscribe"]))
    assert len(urls) == 1

    web = local.LocalProvider(settings)  # the server's own connection, as in production
    server = start_server(settings, web)
    response = client.post(
        server.local(urls[0]),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers

    sam = sender.find_by_email("sam@example.org")
    assert sam is not None and sam.status is SubscriberStatus.UNSUBSCRIBED
    assert consent_log(sender, sam.id)[-1] == ("unsubscribed", "one-click")

    next_file = example_file.with_name("spring-2027.yaml")
    shutil.copy(example_file, next_file)
    second = sender.send(load_issue(next_file, settings))
    assert second.sent == len(MEMBERS) - 1
    assert len(inbox.to("sam@example.org")) == 1
    assert len(inbox.to("alex@example.org")) == 2
    sender.close()
    web.close()
