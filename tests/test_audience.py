"""``newsletter audience ...`` against the local provider's database."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from newsletter.audience_file import read_members
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus
from newsletter.providers.base import ChangeSource, MemberInput, Provider
from newsletter.providers.local import LocalProvider
from newsletter.store import consent
from newsletter.store.database import open_database

pytestmark = pytest.mark.usefixtures("database")

BAD_CSV = """\
 E-Mail Address ,Given Name,Surname,Interests,Ignored
ana@example.org,Ana,Silva,events;reviews,x
not-an-address,Bob,Jones,events,
,Nobody,Here,,
cara@example.org,Cara,Nguyen,gardening,
ANA@Example.org,,,resources,
dan@example..org,Dan,Ode,,
"eve@example.org","Eve, Jr.",Stone,"events, resources",

fay@example.org,Fay,Lee,,
"""


def run(*args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def provider(project_dir) -> LocalProvider:
    return LocalProvider(load_settings(project_dir / "newsletter.yaml"))


def test_bad_rows_are_listed_with_file_and_line_and_the_rest_imported(project_dir):
    (project_dir / "people.csv").write_text(BAD_CSV, encoding="utf-8")
    code, out, err = run("audience", "import", "people.csv")
    assert code == 1
    problems = [line for line in err.splitlines() if line.startswith("people.csv:")]
    assert [line.split(":")[1] for line in problems] == ["3", "4", "5", "7"]
    assert "people.csv:3: 'not-an-address' is not a valid email address" in problems[0]
    assert problems[1] == "people.csv:4: no email address"
    assert problems[2].startswith("people.csv:5: unknown topic 'gardening'")
    assert "'dan@example..org' is not a valid email address" in problems[3]
    assert "3 added" in out and "1 duplicate rows merged" in out

    local = provider(project_dir)
    ana = local.find_by_email("ana@example.org")
    assert (ana.first_name, ana.last_name) == ("Ana", "Silva")
    assert ana.topics == {"events", "reviews", "resources"}
    eve = local.find_by_email("EVE@example.org")
    assert eve.first_name == "Eve, Jr." and eve.topics == {"events", "resources"}
    assert local.find_by_email("fay@example.org").topics == frozenset()
    assert sum(1 for _ in local.members()) == 3


def test_reimport_changes_nothing_and_unsubscribed_stay_unsubscribed(project_dir):
    csv_file = project_dir / "people.csv"
    csv_file.write_text(
        "email,first_name,last_name,topics\n"
        "ana@example.org,Ana,Silva,events\n"
        "bob@example.org,Bob,Jones,reviews\n",
        encoding="utf-8",
    )
    assert run("audience", "import", str(csv_file))[0] == 0
    local = provider(project_dir)
    with open_database(local.settings).connect() as connection:
        before = consent.history(connection, local.find_by_email("ana@example.org").id)

    code, out, _ = run("audience", "import", str(csv_file))
    assert code == 0 and "0 added, 0 updated, 2 unchanged" in out

    assert run("audience", "unsubscribe", "bob@example.org", "--note", "by phone")[0] == 0
    code, out, _ = run("audience", "import", str(csv_file))
    assert "1 kept unsubscribed" in out
    bob = local.find_by_email("bob@example.org")
    assert bob.status is SubscriberStatus.UNSUBSCRIBED
    code, out, _ = run("audience", "add", "bob@example.org")
    assert "stays unsubscribed" in out
    assert local.find_by_email("bob@example.org").status is SubscriberStatus.UNSUBSCRIBED

    with open_database(local.settings).connect() as connection:
        after = consent.history(connection, local.find_by_email("ana@example.org").id)
        bob_log = consent.history(connection, bob.id)
    assert after == before
    assert [(e.action, e.source) for e in before] == [
        ("subscribed", "import"),
        ("topics:events", "import"),
    ]
    assert before[0].note == "line 2"
    assert (bob_log[-1].action, bob_log[-1].source, bob_log[-1].note) == (
        "unsubscribed",
        "cli",
        "by phone",
    )

    code, out, _ = run("audience", "import", str(csv_file), "--resubscribe")
    assert "1 updated" in out
    assert local.find_by_email("bob@example.org").status is SubscriberStatus.SUBSCRIBED


def test_list_export_topics_and_add(project_dir, tmp_path):
    assert (
        run("audience", "add", "ana@example.org", "--first-name", "Ana", "--topic", "events")[0]
        == 0
    )
    assert run("audience", "add", "bob@example.org", "--topic", "reviews")[0] == 0
    code, out, _ = run("audience", "list", "--topic", "events")
    assert out.splitlines() == ["ana@example.org\tAna\tsubscribed\tevents"]
    code, out, _ = run("audience", "topics")
    assert "events\t1\tEvents and webinars" in out.splitlines()
    exported = tmp_path / "out.csv"
    assert run("audience", "export", str(exported))[0] == 0
    lines = exported.read_text().splitlines()
    assert lines[0] == "email,first_name,last_name,topics,status"
    assert "ana@example.org,Ana,,events,subscribed" in lines
    code, _, err = run("audience", "add", "not an address")
    assert code != 0 and "not a valid email address" in err and "Traceback" not in err
    code, _, err = run("audience", "import", str(tmp_path / "missing.csv"))
    assert code != 0 and "cannot read" in err


def test_topic_counts_in_one_query_match_a_walk_over_the_audience(settings):
    local = LocalProvider(settings)
    local.import_members(
        [
            MemberInput("a@example.org", topics=frozenset({"events", "reviews"})),
            MemberInput("b@example.org", topics=frozenset({"events"})),
            MemberInput("c@example.org", topics=frozenset({"resources"})),
            MemberInput("d@example.org"),
        ]
    )
    gone = local.find_by_email("c@example.org")
    local.unsubscribe(gone.id, source=ChangeSource.CLI)

    expected = {"events": 2, "reviews": 1}
    assert local.topic_counts() == expected
    assert Provider.topic_counts(local) == expected


FORMULAS = {
    "=cmd@example.org": ('=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0"),
    "at@example.org": ("@SUM(1+1)", "-2+3"),
    "quoted@example.org": ("'=already quoted", "''@twice"),
    "plain@example.org": ("O'Brien", "'"),
}


def test_export_quotes_formula_cells_and_import_reads_them_back_exactly(project_dir, tmp_path):
    local = LocalProvider(load_settings(project_dir / "newsletter.yaml"))
    local.import_members(
        [
            MemberInput(a, first, last, frozenset({"events"}))
            for a, (first, last) in FORMULAS.items()
        ]
    )
    exported = tmp_path / "members.csv"
    assert run("audience", "export", str(exported))[0] == 0

    rows = {row[0]: row for row in csv.reader(exported.open(newline="", encoding="utf-8"))}
    assert rows["'=cmd@example.org"][1:3] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'+cmd|' /C calc'!A0",
    ]
    assert rows["at@example.org"][1:3] == ["'@SUM(1+1)", "'-2+3"]
    assert rows["quoted@example.org"][1:3] == ["''=already quoted", "'''@twice"]
    assert rows["plain@example.org"][1:3] == ["O'Brien", "'"]
    formula_start = ("=", "+", "-", "@", "\t", "\r")
    assert not [cell for row in rows.values() for cell in row if cell.startswith(formula_start)]

    read = read_members(exported, ["events"])
    assert not read.problems
    assert {m.email: (m.first_name, m.last_name) for m in read.members} == FORMULAS

    other = tmp_path / "other.db"
    code, _, err = run_with_database(other, "audience", "import", str(exported))
    assert code == 0, err
    again = LocalProvider(
        load_settings(project_dir / "newsletter.yaml", database_url=f"sqlite:///{other}")
    )
    assert {m.email: (m.first_name, m.last_name) for m in again.members()} == FORMULAS
    local.close()
    again.close()


def run_with_database(path, *args):
    result = CliRunner().invoke(
        app, list(args), env={"NEWSLETTER_DATABASE_URL": f"sqlite:///{path}"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_commands_find_a_member_by_an_address_with_a_non_ascii_domain(project_dir, tmp_path):
    members = tmp_path / "idn.csv"
    members.write_text("email,first_name\nbob@exämple.org,Bob\n", encoding="utf-8")
    assert run("audience", "import", str(members))[0] == 0
    code, out, _ = run("audience", "list")
    assert out.splitlines() == ["bob@xn--exmple-cua.org\tBob\tsubscribed\t-"]

    code, out, err = run("audience", "unsubscribe", "bob@exämple.org")
    assert code == 0, err
    assert out.strip() == "Unsubscribed bob@xn--exmple-cua.org"
    code, out, err = run("audience", "unsubscribe", "Bob@EXÄMPLE.org")
    assert code == 0, err
    assert out.strip() == "bob@xn--exmple-cua.org was already unsubscribed"
    code, out, _ = run("audience", "add", "bob@exämple.org", "--first-name", "Robert")
    assert out.strip() == "bob@xn--exmple-cua.org unsubscribed earlier and stays unsubscribed"

    code, _, err = run("audience", "unsubscribe", "bob@exämple..org")
    assert code != 0 and "not a valid email address" in err and "Traceback" not in err
    code, _, err = run("audience", "unsubscribe", "nobody@exämple.org")
    assert code != 0 and err.strip() == "error: nobody@exämple.org is not in the audience"
