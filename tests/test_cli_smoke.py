from typer.testing import CliRunner

from newsletter.cli import app

runner = CliRunner()


def test_validate_reports_bad_file_with_exit_code_1(project_dir):
    bad = project_dir / "campaigns" / "bad.yaml"
    bad.write_text("subject: Hi\npreview_text: x\nsections: []\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3:11: sections:" in result.output
