"""`rsibench run` refuses unusable arguments with one clear line, exit 2, before any image is
built or sandbox started (these tests need no Docker daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_plain_inspect_without_a_daemon_names_docker_host_and_no_traceback(tmp_path: Path) -> None:
    """`inspect eval rsibench/rsibench` with DOCKER_HOST pointing nowhere: the message names
    DOCKER_HOST and the fix, without a traceback."""
    inspect = Path(sys.executable).with_name("inspect")
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    proc = subprocess.run(
        [str(inspect), "eval", "rsibench/rsibench", "--model", "mockllm/model",
         "-T", "agent=noop", "-T", "tasks=grad-accum/hinted", "--log-dir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "DOCKER_HOST is set to unix:///nonexistent/docker.sock" in out
    assert "Traceback" not in out
