"""``newsletter inbound`` over IMAP, against a real Dovecot started for the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dovecot import Dovecot, start, stop
from test_inbound_maildir import reports_for, send_first_issue, statuses

from newsletter.errors import ConfigError, MailboxError
from newsletter.returns.imap import ImapMailbox
from newsletter.returns.mailbox import open_mailbox


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = start()
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def sent(project_dir, example_file, smtp_sink, tmp_path):
    maildir = tmp_path / "unused"
    local, campaign_id = send_first_issue(project_dir, example_file, smtp_sink, maildir)
    yield local, reports_for(local, smtp_sink, campaign_id)
    local.close()


def test_reports_in_an_imap_folder_are_acted_on_and_moved_to_processed(sent, dovecot):
    local, reports = sent
    dovecot.append(*reports.values())
    mailbox = open_mailbox(dovecot.url())
    try:
        first = local.read_returns(mailbox)
    finally:
        mailbox.close()
    assert (first.read, first.changed) == (7, 4)
    assert statuses(local)["hard"] == "bounced"
    assert statuses(local)["complaint"] == "complained"
    assert statuses(local)["unsubscribe"] == "unsubscribed"
    assert statuses(local)["qmail"] == "bounced"
    assert dovecot.count("INBOX") == 2 and dovecot.count("Processed") == 5
    assert not any(b"\\Seen" in flags for flags in dovecot.flags("INBOX")), (
        "what is left for a person stays unread"
    )

    again = open_mailbox(dovecot.url())
    try:
        second = local.read_returns(again)
    finally:
        again.close()
    assert (second.read, second.changed, sum(second.left.values())) == (2, 0, 2)
    assert dovecot.count("INBOX") == 2 and dovecot.count("Processed") == 5


def test_the_same_report_delivered_twice_changes_nothing_the_second_time(sent, dovecot):
    local, reports = sent
    dovecot.append(reports["hard"])
    mailbox = open_mailbox(dovecot.url())
    assert local.read_returns(mailbox).changed == 1
    dovecot.append(reports["hard"])
    second = local.read_returns(mailbox)
    mailbox.close()
    assert (second.before, second.changed) == (1, 0)
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 2


def test_without_move_the_messages_are_copied_and_expunged(sent, dovecot, monkeypatch):
    local, reports = sent
    dovecot.append(reports["hard"], reports["away"])
    mailbox = open_mailbox(dovecot.url(processed="Done"))
    client = mailbox.client
    client.capabilities = tuple(c for c in client.capabilities if c != "MOVE")
    local.read_returns(mailbox)
    mailbox.close()
    assert dovecot.count("INBOX") == 1 and dovecot.count("Done") == 1


def test_imaps_checks_the_certificate(sent, dovecot, monkeypatch):
    local, reports = sent
    dovecot.append(reports["unsubscribe"])
    untrusted = open_mailbox(dovecot.url(tls=True))
    with pytest.raises(MailboxError, match="certificate") as refused:
        local.read_returns(untrusted)
    assert dovecot.password not in str(refused.value)
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.certificate))
    trusted = open_mailbox(dovecot.url(tls=True))
    try:
        assert local.read_returns(trusted).changed == 1
    finally:
        trusted.close()


def test_a_wrong_password_is_one_line_without_the_password(sent, dovecot):
    local, _ = sent
    mailbox = open_mailbox(dovecot.url(password="not-the-password-x9"))
    with pytest.raises(MailboxError) as refused:
        local.read_returns(mailbox)
    message = str(refused.value)
    assert "\n" not in message and "not-the-password-x9" not in message
    assert message == (
        f"imap://127.0.0.1:{dovecot.imap_port}/INBOX: cannot log in: "
        "[AUTHENTICATIONFAILED] Authentication failed."
    )


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("imap://u:secret-pw@mail.example.org/INBOX", "for 127.0.0.1 only"),
        ("imaps://mail.example.org/INBOX", "user name and password are missing"),
        ("imaps://u:secret-pw@/INBOX", "must look like"),
    ],
)
def test_urls_that_cannot_work_are_refused_without_repeating_them(url, said):
    with pytest.raises(ConfigError, match=said) as refused:
        open_mailbox(url)
    assert "secret-pw" not in str(refused.value)


def test_the_url_names_the_folders():
    mailbox = open_mailbox("imaps://u%40x:p%2Fw@mail.example.org/Bounces%20In?processed=Old")
    assert isinstance(mailbox, ImapMailbox)
    server = mailbox.server
    assert (server.username, server.password) == ("u@x", "p/w")
    assert (server.folder, server.processed, server.port) == ("Bounces In", "Old", 993)
    assert "p/w" not in repr(server) and mailbox.description == (
        "imaps://mail.example.org:993/Bounces In"
    )
