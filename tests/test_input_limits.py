"""Every YAML file the tool reads is bounded: size, aliases, depth, values, sections, characters.

Each refusal is one ``FILE:LINE:COL: message`` line. The bombs run through the real CLI in
a child process with its address space capped, so a regression fails instead of eating
the machine, and its time and peak memory are measured.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.campaigns import load_issue
from newsletter.config import load_settings
from newsletter.errors import CampaignError
from newsletter.models import MAX_SECTIONS, Issue
from newsletter.yamlfile import DEFAULT_MAX_FILE_BYTES, MAX_DEPTH, MAX_VALUES, load_yaml

HEAD = "subject: Winter news\npreview_text: What is new this winter.\n"


def _section(number: int) -> str:
    return f"  - {{type: article, heading: Story {number}, body: Some words.}}\n"


def _laughs(indent: str = "") -> str:
    """Nine levels of nine aliases: 342 bytes that expand to 9**9 strings."""
    lines = [f'{indent}lol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        aliases = ",".join([f"*lol{level - 1}"] * 9)
        lines.append(f"{indent}lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def _refusal(path: Path, load: Callable[[], object]) -> str:
    with pytest.raises(CampaignError) as caught:
        load()
    lines = caught.value.lines
    assert len(lines) == 1, lines
    assert "\n" not in lines[0]
    return lines[0].removeprefix(f"{path}:")


def _write(tmp_path: Path, text: str, name: str = "issue.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- aliases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (HEAD + _laughs(), "4:14: aliases (*lol0) are not allowed; write the value out"),
        (
            HEAD + "sections:\n  - &first\n    type: article\n    heading: One\n"
            "    body: Text.\n  - *first\n",
            "8:5: aliases (*first) are not allowed; write the value out",
        ),
        (
            HEAD + "x: &base {type: article}\nsections:\n  - <<: *base\n    heading: One\n",
            "5:9: aliases (*base) are not allowed; write the value out",
        ),
    ],
    ids=["billion laughs", "alias under sections", "merge key"],
)
def test_aliases_are_refused_where_they_are_written(settings, tmp_path, text, where):
    path = _write(tmp_path, text)
    assert _refusal(path, lambda: load_issue(path, settings)) == where


def test_an_anchor_without_an_alias_changes_nothing(settings, tmp_path):
    path = _write(tmp_path, HEAD + "sections:\n  - &first {type: article, heading: A, body: B}\n")
    assert load_issue(path, settings).sections[0].heading == "A"


def test_aliases_are_refused_in_the_project_file(project_dir):
    project = project_dir / "newsletter.yaml"
    before = project.read_text()
    project.write_text(before + "x_bomb:\n" + _laughs("  "))
    line = before.count("\n") + 3
    where = f"{line}:16: aliases (*lol0) are not allowed; write the value out"
    assert _refusal(project, lambda: load_settings(project)) == where


# --- depth and values -----------------------------------------------------------------


def _nested(levels: int) -> str:
    """``levels`` lists inside each other, the outermost being the whole document."""
    return "[" * levels + "]" * levels + "\n"


def test_nesting_is_allowed_to_the_limit_and_refused_one_level_deeper(tmp_path):
    assert load_yaml(_write(tmp_path, _nested(MAX_DEPTH))).data is not None
    path = _write(tmp_path, _nested(MAX_DEPTH + 1))
    where = f"1:{MAX_DEPTH + 1}: nested more than {MAX_DEPTH} levels deep"
    assert _refusal(path, lambda: load_yaml(path)) == where


def test_deep_mappings_are_refused_at_the_line_that_goes_too_deep(tmp_path):
    text = "".join("  " * level + f"k{level}:\n" for level in range(100)) + "  " * 100 + "end\n"
    path = _write(tmp_path, text)
    # the document is level 1 and k0's value level 2: k{MAX_DEPTH - 1}'s value is too deep
    line, column = MAX_DEPTH + 1, 2 * MAX_DEPTH + 1
    where = f"{line}:{column}: nested more than {MAX_DEPTH} levels deep"
    assert _refusal(path, lambda: load_yaml(path)) == where


def test_a_hundred_thousand_brackets_fail_at_the_limit_without_recursion(tmp_path):
    path = _write(tmp_path, HEAD + "intro: " + "[" * 100_000 + "\n")
    column = len("intro: ") + MAX_DEPTH  # the mapping is level 1, the first "[" level 2
    where = f"3:{column}: nested more than {MAX_DEPTH} levels deep"
    assert _refusal(path, lambda: load_yaml(path)) == where


def test_values_are_counted_up_to_the_limit(tmp_path):
    scalars = MAX_VALUES - 1  # the list itself is a value too
    assert len(load_yaml(_write(tmp_path, "[" + "a," * scalars + "]\n")).data) == scalars
    path = _write(tmp_path, "[" + "a," * (scalars + 1) + "]\n")
    where = f"1:{2 * MAX_VALUES}: more than {MAX_VALUES:,} values in one file"
    assert _refusal(path, lambda: load_yaml(path)) == where


# --- characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (HEAD + "intro: Crème brûlée\x00\n", "3:20: control character U+0000"),
        ("subject: \x1b[31mred\n", "1:10: control character U+001B"),
        ("subject: x\x7f\n", "1:11: control character U+007F"),
        ("subject: x\ufffe\n", "1:11: character U+FFFE"),
        ("# comment\x00\nsubject: x\n", "1:10: control character U+0000"),
    ],
    ids=["NUL after accents", "escape", "delete", "non-character", "NUL in a comment"],
)
def test_control_characters_are_refused_at_their_line_and_column(tmp_path, text, where):
    path = _write(tmp_path, text)
    assert _refusal(path, lambda: load_yaml(path)) == where + " is not allowed; remove it"


def test_tabs_and_crlf_line_ends_are_still_text(tmp_path):
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b'subject: "a\tb"\r\nintro: |\r\n  one\r\n  two\r\n')
    assert load_yaml(path).data == {"subject": "a\tb", "intro": "one\ntwo\n"}


@pytest.mark.parametrize("padding", [0, 30_000], ids=["near the start", "far into the file"])
def test_syntax_errors_name_the_character_wherever_they_are(tmp_path, padding):
    path = _write(tmp_path, "# padding\n" * (padding // 10) + "subject: x\n@intro: y\n")
    line = padding // 10 + 2
    message = "YAML syntax error: found character '@' that cannot start any token"
    assert _refusal(path, lambda: load_yaml(path)) == f"{line}:1: {message}"


@pytest.mark.parametrize("padding", [0, 30_000], ids=["near the start", "far into the file"])
def test_tab_indentation_is_named_wherever_it_is(tmp_path, padding):
    path = _write(tmp_path, "# padding\n" * (padding // 10) + "sections:\n\t- type: article\n")
    message = "YAML syntax error: tabs are not allowed for indentation; use spaces"
    assert _refusal(path, lambda: load_yaml(path)) == f"{padding // 10 + 2}:1: {message}"


# --- size and encoding ----------------------------------------------------------------


def test_the_default_size_limit_is_one_megabyte(settings):
    assert settings.max_file_bytes == DEFAULT_MAX_FILE_BYTES == 1_000_000


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_refused(settings, tmp_path):
    text = HEAD + "sections:\n" + _section(1)
    path = _write(tmp_path, text)
    size = len(text.encode())
    assert load_issue(path, settings.model_copy(update={"max_file_bytes": size}))
    smaller = settings.model_copy(update={"max_file_bytes": size - 1})
    where = (
        f"1:1: the file is {size:,} bytes; files over {size - 1:,} bytes are refused "
        "(setting max_file_bytes or NEWSLETTER_MAX_FILE_BYTES)"
    )
    assert _refusal(path, lambda: load_issue(path, smaller)) == where


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_file_without_a_size_is_read_only_to_the_limit():
    path = Path("/dev/zero")  # stat says 0 bytes; reading would never end
    where = "1:1: the file is larger than the limit; files over 1,000 bytes are refused"
    assert _refusal(path, lambda: load_yaml(path, max_bytes=1_000)).startswith(where)


def test_the_project_file_takes_its_limit_from_the_environment(project_dir, monkeypatch):
    project = project_dir / "newsletter.yaml"
    monkeypatch.setenv("NEWSLETTER_MAX_FILE_BYTES", "100")
    refusal = _refusal(project, lambda: load_settings(project))
    assert refusal.startswith(f"1:1: the file is {project.stat().st_size:,} bytes; files over 100")


def test_the_project_file_takes_its_limit_from_dotenv(project_dir):
    project = project_dir / "newsletter.yaml"
    (project_dir / ".env").write_text("NEWSLETTER_MAX_FILE_BYTES=100\n")
    assert "files over 100 bytes are refused" in _refusal(project, lambda: load_settings(project))


def test_a_bad_limit_in_the_environment_names_the_variable(project_dir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_MAX_FILE_BYTES", "lots")
    with pytest.raises(CampaignError) as caught:
        load_settings(project_dir / "newsletter.yaml")
    [line] = caught.value.lines
    assert line.startswith("environment NEWSLETTER_MAX_FILE_BYTES: ")


def test_the_limit_in_the_project_file_applies_to_campaign_files(project_dir, example_file):
    project = project_dir / "newsletter.yaml"
    project.write_text(project.read_text() + "max_file_bytes: 1000\n")
    settings = load_settings(project)
    assert settings.max_file_bytes == 1000
    refusal = _refusal(example_file, lambda: load_issue(example_file, settings))
    assert refusal.startswith("1:1: the file is ") and "files over 1,000 bytes" in refusal


def test_bytes_that_are_not_utf8_are_located(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("subject: é\nintro: café\n".encode("latin-1"))
    where = "1:10: byte 0xe9 is not UTF-8; save the file as UTF-8"
    assert _refusal(path, lambda: load_yaml(path)) == where


# --- sections -------------------------------------------------------------------------


def test_an_issue_may_have_the_most_sections_and_no_more(settings, tmp_path):
    most = "sections:\n" + "".join(_section(n) for n in range(MAX_SECTIONS))
    assert len(load_issue(_write(tmp_path, HEAD + most), settings).sections) == MAX_SECTIONS
    path = _write(tmp_path, HEAD + most + _section(MAX_SECTIONS))
    where = f"3:1: sections: more than {MAX_SECTIONS} items; at most {MAX_SECTIONS} are allowed"
    assert _refusal(path, lambda: load_issue(path, settings)) == where


def test_the_model_itself_refuses_too_many_sections():
    section = {"type": "article", "heading": "A", "body": "B"}
    data = {"slug": "x", "subject": "S", "preview_text": "P"}
    with pytest.raises(ValueError, match=f"at most {MAX_SECTIONS} items"):
        Issue.model_validate({**data, "sections": [section] * (MAX_SECTIONS + 1)})


# --- the CLI, in a child process with a memory cap ------------------------------------

MEMORY_CAP = 1024**3
"""Address space for the child: a bomb that gets past the checks dies here, not the host."""
CPU_CAP = 30
SECONDS = 5.0
"""Wall time allowed; the CLI starts in well under a second and each refusal is instant."""
PEAK_MB = 200
"""Peak resident memory allowed; validating the example takes about 70 MB."""


@dataclass(frozen=True)
class Run:
    exit_code: int
    stderr: str
    seconds: float
    peak_mb: float


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_CAP, CPU_CAP))


def _validate(path: Path, cwd: Path, output: Path) -> Run:
    """``newsletter validate PATH`` in a child; wait4 gives that child's own peak memory."""
    with (output / "stdout").open("wb") as stdout, (output / "stderr").open("wb") as stderr:
        start = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "validate", str(path)],
            cwd=cwd,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_capped,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr_text = (output / "stderr").read_text(encoding="utf-8", errors="replace")
    return Run(child.returncode, stderr_text, seconds, usage.ru_maxrss / 1024)


def _campaign_laughs(folder: Path) -> Path:
    return _write(folder, HEAD + _laughs(), "laughs.yaml")


def _project_laughs(folder: Path) -> Path:
    project = folder / "newsletter.yaml"
    project.write_text(project.read_text() + "x_bomb:\n" + _laughs("  "))
    return folder / "campaigns" / "winter-2026.yaml"


def _sections_alias(folder: Path) -> Path:
    aliases = "".join("  - *first\n" for _ in range(1000))
    text = HEAD + "sections:\n  - &first {type: article, heading: A, body: B}\n" + aliases
    return _write(folder, text, "aliased.yaml")


def _twenty_megabytes(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD + "sections:\n")
        for number in range(250_000):
            out.write(_section(number).replace("Some words.", "Some words. " * 3))
    return path


def _many_sections(folder: Path) -> Path:
    path = _write(folder, HEAD + "sections: [" + "{}," * 250_000 + "]\n", "many.yaml")
    assert path.stat().st_size < DEFAULT_MAX_FILE_BYTES  # refused for its sections, not its size
    return path


def _nul(folder: Path) -> Path:
    return _write(folder, HEAD + "intro: Hello\x00 world\n", "nul.yaml")


def _brackets(folder: Path) -> Path:
    return _write(folder, HEAD + "intro: " + "[" * 100_000 + "\n", "brackets.yaml")


def _deep_mappings(folder: Path) -> Path:
    text = HEAD + "".join("  " * level + f"k{level}:\n" for level in range(300))
    return _write(folder, text, "deep.yaml")


CLI_CASES: list[tuple[str, Callable[[Path], Path], str, str]] = [
    ("billion laughs in a campaign", _campaign_laughs, "laughs.yaml:4:14: ", "aliases (*lol0)"),
    ("billion laughs in newsletter.yaml", _project_laughs, "newsletter.yaml:", "aliases (*lol0)"),
    ("alias under sections", _sections_alias, "aliased.yaml:5:5: ", "aliases (*first)"),
    ("20 MB campaign", _twenty_megabytes, "huge.yaml:1:1: ", "files over 1,000,000 bytes"),
    ("250,000 sections", _many_sections, "many.yaml:3:1: ", "sections: more than 200 items"),
    ("NUL byte", _nul, "nul.yaml:3:13: ", "control character U+0000 is not allowed"),
    ("100,000 nested [", _brackets, "brackets.yaml:3:39: ", "nested more than 32 levels"),
    ("300 nested mappings", _deep_mappings, "deep.yaml:35:65: ", "nested more than 32 levels"),
]


@pytest.mark.parametrize(
    ("make", "where", "message"),
    [case[1:] for case in CLI_CASES],
    ids=[case[0] for case in CLI_CASES],
)
def test_the_cli_refuses_each_bomb_quickly_in_one_line(project_dir, tmp_path, make, where, message):
    path = make(project_dir)
    output = tmp_path / "output"
    output.mkdir()
    run = _validate(path.relative_to(project_dir), project_dir, output)
    assert run.exit_code == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr[:2000]
    assert lines[0].startswith(where) and message in lines[0], lines[0]
    assert run.seconds < SECONDS, f"{run.seconds:.2f} s"
    assert run.peak_mb < PEAK_MB, f"{run.peak_mb:.0f} MB"
