"""The preview server in a thread: project-file problems show on the page, then clear."""

from __future__ import annotations

import threading

import httpx
import pytest
from waiting import wait_for

from newsletter.preview import PreviewServer, PreviewSource, bind


@pytest.fixture
def server(project_dir, example_file):
    source = PreviewSource(example_file, project_dir / "newsletter.yaml")
    preview = PreviewServer(source, bind(None))
    thread = threading.Thread(target=preview.run, daemon=True)
    thread.start()
    yield preview
    preview.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_project_file_problems_show_and_clear(server, project_dir):
    project = project_dir / "newsletter.yaml"
    good = project.read_text()
    with httpx.Client(base_url=server.url, timeout=5) as client:
        wait_for(lambda: _ready(client))
        first = client.get("/version").json()
        assert first["errors"] == [] and first["html_bytes"] > 10_000

        project.write_text(good.replace("public_url: https://", "public_url: http://"))
        broken = wait_for(lambda: _state_after(client, first["version"]))
        line = good.splitlines().index("public_url: https://news.example.org") + 1
        assert broken["errors"] == [
            f"{project}:{line}:13: public_url: 'http://news.example.org' "
            "is not an absolute https:// URL"
        ]
        assert client.get("/email.txt").status_code == 422
        assert "public_url" in client.get("/").text

        project.write_text(good.replace("Northmoor Child Safety Partnership", "Eastmoor Trust"))
        fixed = wait_for(lambda: _state_after(client, broken["version"]))
        assert fixed["errors"] == []
        assert "Eastmoor Trust" in client.get("/email.html").text


def test_renders_again_only_when_a_file_changes(project_dir, example_file):
    source = PreviewSource(example_file, project_dir / "newsletter.yaml")
    first = source.current()
    assert source.current() is first
    template = project_dir / "templates" / "sections" / "news.txt.j2"
    template.write_text(template.read_text() + "\n")
    second = source.current()
    assert second is not first and second.version != first.version
    assert source.current() is second


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/version").status_code == 200
    except httpx.TransportError:
        return False


def _state_after(client: httpx.Client, version: str) -> dict | None:
    state = client.get("/version").json()
    return state if state["version"] != version else None


def test_a_broken_template_shows_as_one_line(project_dir, example_file):
    source = PreviewSource(example_file, project_dir / "newsletter.yaml")
    assert source.current().errors == ()
    template = project_dir / "templates" / "sections" / "cta.mjml.j2"
    good = template.read_text()
    template.write_text(good.replace("{% endfor %}", ""))
    errors = source.current().errors
    assert len(errors) == 1
    assert errors[0].startswith(f"{template.resolve()}:")
    assert "template error: Unexpected end of template" in errors[0]
    template.write_text(good + "{{ 1 | no_such_filter }}\n")
    assert "template error: No filter named 'no_such_filter'" in source.current().errors[0]
    template.write_text(good)
    assert source.current().errors == ()
