from typer.testing import CliRunner

from newsletter.cli import app

runner = CliRunner()


def test_validate_reports_bad_file_with_exit_code_1(project_dir):
    bad = project_dir / "campaigns" / "bad.yaml"
    bad.write_text("subject: Hi\npreview_text: x\nsections: []\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3:11: sections:" in result.output


def test_help_lists_commands_in_the_order_an_issue_goes_through_them():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:")[1].splitlines()
        if line.startswith("  ") and line.split()
    ]
    workflow = ["new", "validate", "render", "preview", "test", "send", "push", "report"]
    assert [name for name in listed if name in workflow] == workflow
