from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadflood.cli import app

CORPUS = Path(__file__).parent / "corpus"
runner = CliRunner()


def test_classify_prints_json():
    result = runner.invoke(
        app, ["inbox", "classify", str(CORPUS / "bounce-qmail-hard.eml"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["kind"], data["bounce_type"], data["recipient"]) == (
        "bounce",
        "hard",
        "ahmed.karim@dunecraft.example",
    )
    assert data["evidence"]


def test_classify_prints_a_readable_summary_with_the_evidence():
    result = runner.invoke(app, ["inbox", "classify", str(CORPUS / "auto-ooo-de-headers.eml")])
    assert result.exit_code == 0, result.output
    assert "out_of_office" in result.stdout
    assert "2027-01-11" in result.stdout
    assert "header Auto-Submitted: auto-replied" in result.stdout


def test_a_missing_file_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["inbox", "classify", str(tmp_path / "nope.eml")])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unreadable_file" in lines[0] and "nope.eml" in lines[0]
    assert "Traceback" not in result.output


def test_a_directory_is_unreadable_too(tmp_path):
    result = runner.invoke(app, ["inbox", "classify", str(tmp_path)])
    assert result.exit_code == 2
    assert "unreadable_file" in result.stderr
