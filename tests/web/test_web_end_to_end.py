"""Send with the local provider to a real SMTP server, unsubscribe with the message's
own List-Unsubscribe URL through the real web server, and the next send skips them."""

from __future__ import annotations

import email
import re
import shutil
from email.policy import default as default_policy

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus
from newsletter.providers.local import LocalProvider

from .support import MEMBERS, OLD_SECRET, SECRET, consent_log


def _received_by(smtp_sink, address: str) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(received.data, policy=default_policy)
        for received in smtp_sink.handler.messages
        if address in received.recipients
    ]


def test_one_click_from_a_received_message_stops_the_next_send(
    project_dir, example_file, monkeypatch, smtp_sink, start_server, client
):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_OLD_SECRETS", OLD_SECRET)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
    settings = load_settings(project_dir / "newsletter.yaml")
    sender = LocalProvider(settings)
    sender.import_members(MEMBERS)

    first = sender.send(load_issue(example_file, settings))
    assert first.sent == len(MEMBERS)
    received = _received_by(smtp_sink, "sam@example.org")
    assert len(received) == 1
    message = received[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    urls = re.findall(r"<(https://[^>]+)>", str(message["List-Unsubscribe"]))
    assert len(urls) == 1

    web = LocalProvider(settings)  # the server's own connection, as in production
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
    assert len(_received_by(smtp_sink, "sam@example.org")) == 1
    assert len(_received_by(smtp_sink, "alex@example.org")) == 2
    sender.close()
    web.close()
