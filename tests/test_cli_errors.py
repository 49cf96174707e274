"""`rsibench run` refuses unusable arguments with one clear line, exit 2, before any image is
built or sandbox started (these tests need no Docker daemon)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rsibench.cli import main


def test_an_unknown_model_provider_is_named_with_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "--model", "foo/bar", "--tasks", "*/hinted", "--log-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--model foo/bar: Model API foo of model 'foo/bar' not recognized" in result.output
    assert "provider/model" in result.output and "Traceback" not in result.output


def test_an_unwritable_records_dir_is_refused_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        main, ["run", "--records-dir", str(blocker / "runs"), "--log-dir", str(tmp_path / "l")]
    )
    assert result.exit_code == 2
    assert f"--records-dir {blocker / 'runs'}: cannot write there" in result.output
    assert not (tmp_path / "l").exists()  # nothing ran
