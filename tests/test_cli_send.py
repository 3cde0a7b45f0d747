"""``newsletter send`` and ``newsletter test`` from the command line."""

from __future__ import annotations

import pytest
from conftest import TEST_SECRET
from typer.testing import CliRunner

from newsletter.cli import app

pytestmark = pytest.mark.usefixtures("database")


def run(monkeypatch, smtp_sink, *args, input=None):
    monkeypatch.setenv("NEWSLETTER_SECRET", TEST_SECRET)
    if smtp_sink is not None:
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", smtp_sink.url)
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def add_people(monkeypatch, smtp_sink):
    for address, topic in (("ana@example.org", "events"), ("bob@example.org", "reviews")):
        assert run(monkeypatch, smtp_sink, "audience", "add", address, "--topic", topic)[0] == 0


def test_send_asks_then_sends_and_refuses_a_second_time(
    monkeypatch, project_dir, example_file, smtp_sink
):
    add_people(monkeypatch, smtp_sink)
    code, out, _ = run(monkeypatch, smtp_sink, "send", str(example_file), input="n\n")
    assert "goes to 2 member(s)" in out and f"Messages go to {smtp_sink.url}" in out
    assert not smtp_sink.handler.counts

    code, out, _ = run(monkeypatch, smtp_sink, "send", str(example_file), "--dry-run")
    assert code == 0 and "Dry run: nothing sent" in out
    assert not smtp_sink.handler.counts

    code, out, err = run(monkeypatch, smtp_sink, "send", str(example_file), "--yes")
    assert code == 0, err
    assert "sent 2, failed 0, deferred 0, skipped 0, uncertain 0" in out
    assert sorted(smtp_sink.handler.counts) == ["ana@example.org", "bob@example.org"]

    code, _, err = run(monkeypatch, smtp_sink, "send", str(example_file), "--yes")
    assert code == 1 and "already sent; pass --resend" in err and "Traceback" not in err
    code, out, _ = run(monkeypatch, smtp_sink, "send", str(example_file), "--yes", "--resend")
    assert code == 0 and sum(smtp_sink.handler.counts.values()) == 4


def test_test_command_and_missing_secret(monkeypatch, project_dir, example_file, smtp_sink):
    code, out, err = run(
        monkeypatch, smtp_sink, "test", str(example_file), "--to", "editor@example.org"
    )
    assert code == 0, err
    assert out.startswith("Sent 1 test copy")
    assert list(smtp_sink.handler.counts) == ["editor@example.org"]
    code, _, err = run(monkeypatch, smtp_sink, "test", str(example_file), "--to", "nope")
    assert code != 0 and "not a valid email address" in err

    add_people(monkeypatch, smtp_sink)  # an empty audience would be refused first
    monkeypatch.delenv("NEWSLETTER_SECRET")
    result = CliRunner().invoke(app, ["send", str(example_file), "--yes"])
    assert result.exit_code == 2 and "NEWSLETTER_SECRET is not set" in result.stderr


def test_without_smtp_the_command_says_it_writes_to_the_outbox(
    monkeypatch, project_dir, example_file
):
    add_people(monkeypatch, None)
    code, out, err = run(monkeypatch, None, "send", str(example_file), "--yes")
    assert code == 0, err
    assert f"Messages go to the Maildir outbox {project_dir / 'outbox'}" in out
    assert len(list((project_dir / "outbox" / "new").iterdir())) == 2


def test_a_line_break_in_a_header_setting_stops_test_and_send_before_anything_goes_out(
    monkeypatch, project_dir, example_file, smtp_sink
):
    add_people(monkeypatch, smtp_sink)
    project = project_dir / "newsletter.yaml"
    project.write_text(
        project.read_text().replace(
            "  name: Northmoor safeguarding practitioners", '  name: "Northmoor\\nX-Evil: 1"'
        )
    )
    for args in (
        ("test", str(example_file), "--to", "ed@example.org"),
        ("send", str(example_file), "--yes"),
    ):
        code, _, err = run(monkeypatch, smtp_sink, *args)
        assert code == 1, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("newsletter.yaml:") and "audience.name: contains a line break" in err
    assert not smtp_sink.handler.counts
