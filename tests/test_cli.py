"""Every ``newsletter`` writing command through typer's runner, and preview as a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from big_issue import big_issue
from typer.testing import CliRunner
from waiting import wait_for

from newsletter.campaigns import load_issue
from newsletter.cli import app
from newsletter.preview import bind
from newsletter.render.compile import GMAIL_CLIP_BYTES, SIZE_WARNING_BYTES, compile_issue
from newsletter.scaffold import scaffold_issue

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


# --- new ---------------------------------------------------------------------------


def test_new_writes_a_file_that_validates(project_dir):
    result = _run("new", "2027-01-briefing")
    path = project_dir / "campaigns" / "2027-01-briefing.yaml"
    assert result.exit_code == 0, result.output
    assert f"Wrote {path}" in result.stdout
    assert _run("validate", str(path)).exit_code == 0


def test_new_refuses_to_overwrite_without_force(project_dir):
    path = project_dir / "campaigns" / "winter-2026.yaml"
    before = path.read_text()
    result = _run("new", "winter-2026")
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert "Traceback" not in result.output
    assert path.read_text() == before
    assert _run("new", "winter-2026", "--force").exit_code == 0
    assert path.read_text() != before


def test_new_rejects_a_bad_slug(project_dir):
    result = _run("new", "Winter Issue!")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((project_dir / "campaigns").glob("Winter*"))


# --- validate ----------------------------------------------------------------------


def test_validate_accepts_the_example(example_file):
    result = _run("validate", str(example_file))
    assert result.exit_code == 0, result.output
    assert f"ok  {example_file}  (6 sections)" in result.stdout


def test_validate_reports_every_problem_of_every_file(project_dir, example_file):
    bad = project_dir / "campaigns" / "bad.yaml"
    bad.write_text("subject: Hi\npreveiw_text: x\nsections: []\n")
    worse = project_dir / "campaigns" / "worse.yaml"
    worse.write_text("subject: [unclosed\n")
    result = _run("validate", str(example_file), str(bad), str(worse))
    assert result.exit_code == 1
    assert f"ok  {example_file}" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{bad}:1:1: preview_text: Field required",
        f"{bad}:2:1: preveiw_text: unknown field 'preveiw_text'; did you mean 'preview_text'?",
        f"{bad}:3:11: sections: List should have at least 1 item after validation, not 0",
        f"{worse}:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'",
    ]


def test_validate_reports_a_broken_project_file(project_dir, example_file):
    project = project_dir / "newsletter.yaml"
    project.write_text(project.read_text().replace("timezone: Europe/London", "timezone: Mars"))
    result = _run("validate", str(example_file))
    assert result.exit_code == 1
    line = project.read_text().splitlines().index("timezone: Mars") + 1
    assert result.stderr.strip() == f"newsletter.yaml:{line}:11: timezone: unknown time zone 'Mars'"


def test_a_line_break_in_the_sender_name_is_one_located_line(project_dir, example_file):
    project = project_dir / "newsletter.yaml"
    text = project.read_text()
    original = "  from_name: Northmoor Child Safety Partnership\n"
    assert original in text
    project.write_text(text.replace(original, '  from_name: "Northmoor\\r\\nBcc: x@y.org"\n'))
    line = project.read_text().splitlines().index('  from_name: "Northmoor\\r\\nBcc: x@y.org"') + 1
    result = _run("validate", str(example_file))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"newsletter.yaml:{line}:14: sender.from_name: contains a carriage return (U+000D); "
        "it goes into an email header and must be one line"
    ]
    assert "Traceback" not in result.output


def test_validate_without_a_project_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run("validate", "x.yaml")
    assert result.exit_code == 2
    assert "newsletter.yaml: no project file" in result.stderr


def test_environment_overrides_reach_the_commands(project_dir, example_file, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_ORGANISATION__NAME", "Renamed Partnership")
    result = _run("render", str(example_file), "--out", "out")
    assert result.exit_code == 0, result.output
    assert "Renamed Partnership" in (project_dir / "out" / "winter-2026.html").read_text()


# --- render ------------------------------------------------------------------------


def test_render_writes_html_text_and_mjml_with_a_sample_reader(project_dir, example_file):
    result = _run("render", str(example_file), "--out", "out")
    assert result.exit_code == 0, result.output
    out = Path("out")
    html = (out / "winter-2026.html").read_text()
    text = (out / "winter-2026.txt").read_text()
    assert (out / "winter-2026.mjml").read_text().startswith("<mjml")
    assert "reader@example.org" in html and "reader@example.org" in text
    assert "[[nl:" not in html + text
    for name in ("winter-2026.html", "winter-2026.txt", "winter-2026.mjml"):
        size = (out / name).stat().st_size
        assert f"{out / name}  {size / 1024:.1f} KB" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("style", "present", "absent"),
    [("mailchimp", 'href="*|UNSUB|*"', "[[nl:"), ("local", 'href="[[nl:unsubscribe_url]]"', "*|")],
)
def test_render_keeps_merge_tags_when_asked(project_dir, example_file, style, present, absent):
    result = _run("render", str(example_file), "--out", "out", "--merge-tags", style)
    assert result.exit_code == 0, result.output
    html = (project_dir / "out" / "winter-2026.html").read_text()
    assert present in html
    assert absent not in html


def test_render_reports_a_bad_file_without_writing(project_dir):
    bad = project_dir / "campaigns" / "bad.yaml"
    bad.write_text("subject: Hi\npreview_text: x\nsections:\n  - type: poem\n")
    result = _run("render", str(bad), "--out", "out")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{bad}:4:11: sections[0].type: unknown type 'poem'; "
        "it is one of: article, news, event, cta"
    )
    assert not (project_dir / "out").exists()


def test_render_warns_above_90_kb(project_dir, settings):
    path = big_issue(project_dir / "campaigns" / "big.yaml", 270)
    size = compile_issue(load_issue(path, settings), settings).html_bytes
    assert SIZE_WARNING_BYTES < size < GMAIL_CLIP_BYTES
    result = _run("render", str(path), "--out", "out")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: the HTML is ")
    assert "Gmail clips messages over 102.0 KB" in result.stderr
    assert (project_dir / "out" / "big.html").exists()
    checked = _run("validate", str(path))
    assert checked.exit_code == 0
    assert checked.stderr.startswith(f"warning: {path}: the HTML is ")


def test_render_and_validate_refuse_above_102_kb(project_dir, settings):
    path = big_issue(project_dir / "campaigns" / "huge.yaml", 330)
    assert compile_issue(load_issue(path, settings), settings).html_bytes > GMAIL_CLIP_BYTES
    result = _run("render", str(path), "--out", "out")
    assert result.exit_code == 1
    assert "over Gmail's clipping point of 102.0 KB" in result.stderr
    assert "Traceback" not in result.output
    checked = _run("validate", str(path))
    assert checked.exit_code == 1
    assert "over Gmail's clipping point" in checked.stderr


def test_render_reports_an_unwritable_folder(project_dir, example_file):
    (project_dir / "blocked").write_text("a file, not a folder")
    result = _run("render", str(example_file), "--out", "blocked")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: blocked: cannot write")


# --- help --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["new", "validate", "render", "preview"])
def test_every_command_has_help_with_an_example(command):
    result = _run(command, "--help")
    assert result.exit_code == 0
    assert f"Example: newsletter {command} " in result.stdout


# --- preview -----------------------------------------------------------------------


def test_preview_of_a_missing_file_fails_fast(project_dir):
    result = _run("preview", "campaigns/absent.yaml", "--no-open")
    assert result.exit_code == 1
    assert result.stderr.strip() == "campaigns/absent.yaml: no such file"


def test_preview_on_a_busy_port_is_one_line(example_file):
    busy = bind(None)
    try:
        port = str(busy.getsockname()[1])
        result = _run("preview", str(example_file), "--no-open", "--port", port)
    finally:
        busy.close()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


@pytest.fixture
def preview_process(project_dir, example_file):
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "preview", str(example_file), "--no-open"],
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Previewing {example_file} at http://127.0.0.1:"), (
            line + process.stderr.read()
        )
        yield line.split(" at ", 1)[1].split()[0].rstrip("/")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_preview_serves_and_follows_the_files(preview_process, project_dir, example_file):
    base = preview_process
    with httpx.Client(base_url=base, timeout=5) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert 'src="/email.html"' in page.text
        assert 'id="phone"' in page.text and "width: 375px" in page.text
        email = client.get("/email.html")
        assert email.status_code == 200
        assert "What helps families follow safer sleep advice?" in email.text
        assert "reader@example.org" in email.text
        assert client.get("/email.txt").text.startswith("Practice Briefing – Winter 2026\n")
        first = client.get("/version").json()
        assert first["errors"] == []

        original = example_file.read_text()
        example_file.write_text(original.replace("Practice Briefing", "Practice Bulletin"))
        second = wait_for(lambda: _changed(client, first["version"]))
        assert second["errors"] == []
        assert "Practice Bulletin" in client.get("/email.html").text
        assert client.get("/email.txt").text.startswith("Practice Bulletin – Winter 2026\n")

        example_file.write_text(original.replace("subject:", "subjet:"))
        broken = wait_for(lambda: _changed(client, second["version"]))
        assert (
            f"{example_file}:2:1: subjet: unknown field 'subjet'; did you mean 'subject'?"
            in (broken["errors"])
        )
        failing = client.get("/email.html")
        assert failing.status_code == 422
        assert "did you mean &#39;subject&#39;?" in failing.text  # escaped, not markup
        page = client.get("/").text
        assert "This file has problems" in page
        assert "subjet: unknown field &#39;subjet&#39;" in page

        example_file.write_text(original)
        fixed = wait_for(lambda: _changed(client, broken["version"]))
        assert fixed["errors"] == []

        footer = project_dir / "templates" / "footer.mjml.j2"
        footer.write_text(footer.read_text().replace("Why did I get this?", "Why this email?"))
        wait_for(lambda: _changed(client, fixed["version"]))
        assert "Why this email?" in client.get("/email.html").text


def _changed(client: httpx.Client, version: str) -> dict | None:
    state = client.get("/version").json()
    return state if state["version"] != version else None


def test_a_new_issue_takes_its_dates_from_the_time_it_is_given(project_dir, settings):
    now = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)
    path = scaffold_issue(project_dir / "campaigns" / "spring.yaml", "spring", settings, now=now)
    issue = load_issue(path, settings)
    event = next(s for s in issue.sections if s.type == "event")
    assert event.starts_at.isoformat() == "2027-03-29T10:00:00+01:00"  # London summer time
    assert "# send_at: 2027-03-15T09:00:00" in path.read_text()
