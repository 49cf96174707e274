"""Human baselines: the clock, records, summary and apply, and real sessions driven through tmux."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rsibench import baseline as bl
from rsibench.cli import main
from rsibench.spec import task_schema
from rsibench.suite import load_suite

REPO = Path(__file__).resolve().parents[1]


# ---- the clock --------------------------------------------------------------------------------


def test_clock_takes_out_pauses_idle_gaps_and_interruptions():
    c = bl.Clock(idle_limit=60)
    c.start(0)
    c.activity(30)
    c.activity(50)  # within the limit: counted
    c.pause(100)
    c.resume(400)  # 300 s paused
    c.activity(410)
    c.activity(600)  # 190 s without a key or output: not counted
    c.interrupt(700)  # terminal closed; the last activity was 100 s before: not counted
    c.reopen(5000)
    c.activity(5030)
    c.finish(5080)
    wall = 5080
    assert c.pauses == [[100, 400]]
    assert c.idle == [[410, 600], [600, 700]]
    assert c.interruptions == [[700, 5000]]
    assert c.working_seconds(wall) == pytest.approx(100 + (410 - 400) + 80)
    paused, interrupted = 300, 4300
    assert c.working_seconds(wall) + paused + interrupted + c.idle_seconds(wall) == wall


def test_clock_live_idle_and_pause_while_interrupted():
    c = bl.Clock(idle_limit=10)
    c.start(0)
    assert c.working_seconds(9) == 9
    assert c.working_seconds(30) == 0  # idle right now, past the limit: the whole gap goes
    c.activity(30)
    assert c.idle == [[0, 30]]
    c.pause(35)
    c.interrupt(50)  # a pause cut by an interruption ends there
    assert c.pauses == [[35, 50]] and not c.paused and not c.running
    c.reopen(90)
    c.finish(95)
    assert c.working_seconds(95) == 5 + 5


# ---- records, summary, apply -------------------------------------------------------------------


def record(task_id: str, name: str, minutes: float, success: bool = True, **kw) -> dict:
    family, variant = task_id.split("/")
    state = {
        "attempt_id": f"{name}.{family}.{variant}.{uuid.uuid4().hex[:8]}",
        "name": name,
        "suite_version": "0.1.0+test",
        "task": {
            "task_id": task_id,
            "family": family,
            "variant": variant,
            "category": "debugging",
            "human_minutes": 1.0,
            "human_minutes_source": "estimate",
            "threshold": 1.0,
        },
        "idle_minutes": 10.0,
        "image": "rsibench/python-ml:test",
        "image_digest": None,
        "archive": "workspaces/x.tar",
        "archive_sha256": None,
        "submitted_at": 1000.0 + minutes * 60,
        "clock": bl.Clock(600, started=1000.0, closed=minutes * 60).to_json(),
    }

    class Result:
        details = {"log": ""}
        seconds = 1.0
        error = None
        score_raw = score_normalised = 1.0 if success else 0.0

    Result.success = success
    rec = bl.make_record(state, Result, kw.pop("error", None))
    assert bl.record_problems(rec) == []
    return rec


def write(folder: Path, records: list[dict]) -> None:
    for r in records:
        bl.append_record(folder / f"{r['name']}.jsonl", r)


def test_geometric_mean_and_interval():
    gm, lo, hi = bl.geometric_mean_ci([10, 40])
    assert gm == pytest.approx(20)
    half = 12.706 * (math.log(4) / math.sqrt(2)) / math.sqrt(2)
    assert (lo, hi) == pytest.approx((20 * math.exp(-half), 20 * math.exp(half)))
    assert bl.geometric_mean_ci([7]) == (pytest.approx(7), None, None)


def test_summary_and_apply_on_a_suite(mini_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("RSIBENCH_ROOT", str(mini_copy))
    folder = tmp_path / "baselines"
    write(
        folder,
        [
            record("fix-answer/easy", "alice", 2.0),
            record("fix-answer/easy", "bob", 8.0),
            record("fix-answer/easy", "carol", 4.0),
            record("fix-answer/easy", "dave", 30.0, success=False),
            record("fix-answer/easy", "erin", 3.0, error="scorer timed out after 60 s"),
            record("fix-answer/hard", "alice", 6.0),
        ],
    )
    runner = CliRunner()
    out = runner.invoke(main, ["baseline", "summary", "--json", "--dir", str(folder)])
    assert out.exit_code == 0, out.output
    rows = {r["task_id"]: r for r in json.loads(out.output)}
    easy = rows["fix-answer/easy"]
    assert (easy["attempts"], easy["scored"], easy["successes"]) == (5, 4, 3)
    assert easy["geomean_minutes"] == pytest.approx(4.0)
    assert easy["ci95_minutes"][0] < 4.0 < easy["ci95_minutes"][1]
    assert easy["ratio"] == pytest.approx(4.0) and easy["human_minutes_source"] == "estimate"
    assert len(easy["unscored"]) == 1
    table = runner.invoke(main, ["baseline", "summary", "--dir", str(folder)])
    assert "fix-answer/easy" in table.output and " 4.0 " in table.output, table.output

    spec = mini_copy / "tasks" / "debugging" / "fix-answer" / "task.yaml"
    before_text, before_version = spec.read_text(), load_suite(mini_copy).version
    dry = runner.invoke(main, ["baseline", "apply", "--dry-run", "--dir", str(folder)])
    assert "dry run" in dry.output and spec.read_text() == before_text
    out = runner.invoke(main, ["baseline", "apply", "--dir", str(folder)])
    assert out.exit_code == 0, out.output
    assert "fix-answer/easy: 1 min (estimate) -> 4 min (baseline, 3 successful)" in out.output
    assert "fix-answer/hard: keeps 4 min (estimate); 1 of 3 successful baselines" in out.output
    suite = load_suite(mini_copy)
    assert suite.version != before_version and suite.version in out.output
    easy_v, hard_v = suite.variant("fix-answer/easy"), suite.variant("fix-answer/hard")
    assert (easy_v.human_minutes, easy_v.human_minutes_source) == (4.0, "baseline")
    assert (hard_v.human_minutes, hard_v.human_minutes_source) == (4.0, "estimate")
    text = spec.read_text()
    assert text.splitlines()[0] == before_text.splitlines()[0]  # the comment stays
    assert "human_minutes: 4, human_minutes_source: baseline, human_minutes_baselines: 3" in text
    again = runner.invoke(main, ["baseline", "apply", "--dir", str(folder)])
    assert "nothing to change" in again.output and spec.read_text() == text


def test_apply_edits_block_style_task_yaml_in_place():
    spec = REPO / "tasks" / "debugging" / "grad-accum" / "task.yaml"
    text = spec.read_text()
    edited = bl.edit_variant_text(text, "padded", 31.5, 4, str(spec))
    data = yaml.safe_load(edited)
    jsonschema.validate(data, task_schema())
    padded = next(v for v in data["variants"] if v["id"] == "padded")
    assert (padded["human_minutes"], padded["human_minutes_source"]) == (31.5, "baseline")
    assert padded["human_minutes_baselines"] == 4
    changed = [
        (a, b) for a, b in zip(text.splitlines(), edited.splitlines(), strict=False) if a != b
    ]
    assert changed[:2] == [
        ("    human_minutes: 25", "    human_minutes: 31.5"),
        ("    human_minutes_source: estimate", "    human_minutes_source: baseline"),
    ]
    assert len(edited.splitlines()) == len(text.splitlines()) + 1
    again = bl.edit_variant_text(edited, "padded", 30, 5, str(spec))
    assert yaml.safe_load(again)["variants"][1]["human_minutes_baselines"] == 5
    assert len(again.splitlines()) == len(edited.splitlines())


def test_bad_records_and_bad_input_exit_2(tmp_path, mini_copy, monkeypatch):
    monkeypatch.setenv("RSIBENCH_ROOT", str(mini_copy))
    folder = tmp_path / "b"
    folder.mkdir()
    good = record("fix-answer/easy", "alice", 2.0)
    (folder / "alice.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "working_seconds": -1}) + "\n"
    )
    runner = CliRunner()
    out = runner.invoke(main, ["baseline", "summary", "--dir", str(folder)])
    assert out.exit_code == 2 and "alice.jsonl:2: invalid baseline record" in out.output
    assert "working_seconds" in out.output
    with pytest.raises(bl.BaselineError, match="refusing an invalid baseline record"):
        bl.append_record(folder / "x.jsonl", {**good, "success": None})
    out = runner.invoke(main, ["baseline", "nope/x", "--name", "alice"])
    assert out.exit_code == 2 and "no task 'nope/x'" in out.output
    out = runner.invoke(main, ["baseline", "fix-answer/easy", "--name", "../x"])
    assert out.exit_code == 2 and "--name" in out.output
    out = runner.invoke(main, ["baseline", "fix-answer/easy", "--name", "alice"])
    assert out.exit_code == 2 and "interactive terminal" in out.output


# ---- real sessions in a real terminal ----------------------------------------------------------


def tmux_or_skip() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed (scripts/setup.sh installs it where it can: as root)")
    return tmux


class Terminal:
    """A tmux server of our own; each window is a terminal a person would type in."""

    def __init__(self, tmux: str, tmp: Path):
        self.tmux, self.socket = tmux, f"rsibench-test-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        self.tmp = tmp

    def _run(self, *args: str) -> str:
        cmd = [self.tmux, "-L", self.socket, *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, env=self.env).stdout

    def open(self, window: str, *rsibench_args: str) -> None:
        """Run `rsibench ARGS` in a new window, as a person would type it."""
        cli = f"{sys.executable} -c 'from rsibench.cli import main; main()'"
        line = " ".join([cli, *rsibench_args]) + "; echo EXIT=$?; sleep 3600"
        if not self.windows():  # the server ends with its last window
            self._run("new-session", "-d", "-s", "t", "-n", window, "-x", "200", "-y", "50", line)
            self._run("set-option", "-g", "history-limit", "20000")
        else:
            self._run("new-window", "-t", "t", "-n", window, line)

    def windows(self) -> list[str]:
        try:
            return self._run("list-windows", "-t", "t", "-F", "#{window_name}").split()
        except subprocess.CalledProcessError:
            return []

    def keys(self, window: str, text: str, enter: bool = True) -> None:
        self._run("send-keys", "-t", f"t:{window}", "-l", text)
        if enter:
            self._run("send-keys", "-t", f"t:{window}", "Enter")

    def screen(self, window: str) -> str:
        return self._run("capture-pane", "-p", "-J", "-S", "-20000", "-t", f"t:{window}")

    def wait(self, window: str, text: str, timeout: float = 120, after: int = 0) -> str:
        """Wait until ``text`` appears (its ``after``+1-th occurrence); return the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen(window)
            if screen.count(text) > after:
                return screen
            if "EXIT=" in screen and "EXIT=" not in text:
                break
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not seen in window {window}:\n{self.screen(window)}")

    def ready(self, window: str, timeout: float = 180) -> str:
        """Wait for the sandbox's prompt, then until the shell really reads what is typed (keys
        sent while bash is still starting can be echoed before its line editor redraws over
        them); returns the screen as the prompt first appeared."""
        screen = self.wait(window, PROMPT, timeout=timeout)
        for _ in range(20):
            self.keys(window, "echo READY-$((6*7))")
            try:
                self.wait(window, "READY-42", timeout=3)
                return screen
            except AssertionError:
                continue
        raise AssertionError(f"the shell in {window} never answered:\n{self.screen(window)}")

    def close_window(self, window: str) -> None:
        self._run("kill-window", "-t", f"t:{window}")

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmux_or_skip(), tmp_path)
    yield term
    transcript = tmp_path / "transcript.txt"
    transcript.write_text("\n".join(f"== {w}\n{term.screen(w)}" for w in term.windows()))
    term.close()


PROMPT = "] /workspace$"
FIX = (
    "sed -i -e '/^            self.optimizer.zero_grad(set_to_none=True)$/d' "
    "-e 's/^        total_loss = 0.0$/&\\n        self.optimizer.zero_grad(set_to_none=True)/' "
    "-e 's/^            loss.backward()$/            (loss \\/ self.accum_steps).backward()/' "
    "train.py"
)


@pytest.mark.docker
def test_a_person_fixes_grad_accum_in_a_real_terminal(terminal, image_tag, tmp_path, monkeypatch):
    """Start, look around, pause, resume, fix the bug from a second (attached) shell, go idle,
    submit: the verdict, the record's times and the summary all show it."""
    folder = tmp_path / "baselines"
    args = ["baseline", "grad-accum/hinted", "--name", "alice", "--dir", str(folder)]
    terminal.open("main", *args, "--idle-minutes", "0.4", "--notes", "'docs only'")
    terminal.ready("main", timeout=180)
    terminal.keys("main", "whoami; pwd; ls; ls /verifier /tmp/.rsibench/requests; status")
    screen = terminal.wait("main", "clock running")
    assert "agent\n/workspace\ncorpus.txt  data.py  model.py  train.py" in screen
    assert "No such file or directory" in screen and "Permission denied" in screen

    terminal.keys("main", "pause")
    terminal.wait("main", "Clock paused")
    time.sleep(6)
    terminal.keys("main", "resume")
    terminal.wait("main", "Clock running again")

    terminal.open("second", *args, "--attach")
    terminal.ready("second", timeout=60)
    terminal.keys("second", f"{FIX} && grep -n 'accum_steps).backward' train.py")
    terminal.wait("second", "(loss / self.accum_steps).backward()")  # the typed line has "\\/"
    time.sleep(35)  # idle past the 24 s limit: not counted
    terminal.keys("main", "submit")
    terminal.wait("main", "[y/N]")
    terminal.keys("main", "y")
    screen = terminal.wait("main", "EXIT=", timeout=300)
    assert "verdict:      SUCCESS: normalised score 1.000" in screen, screen
    assert "EXIT=0" in screen
    assert "SUCCESS" in terminal.wait("second", "EXIT=", timeout=60)  # the attached shell too

    (rec,) = bl.load_baselines(folder)
    assert rec["success"] and rec["error"] is None and rec["score_normalised"] == 1.0
    assert rec["task_id"] == "grad-accum/hinted" and rec["name"] == "alice"
    assert rec["notes"] == "docs only" and rec["idle_minutes"] == 0.4
    assert rec["image_digest"] and rec["workspace_sha256"]
    assert (folder / rec["workspace_archive"]).is_file()
    assert len(rec["pauses"]) == 1 and 5 <= rec["paused_seconds"] <= 15
    assert rec["idle_seconds"] >= 24 and len(rec["idle_periods"]) >= 1
    total = rec["working_seconds"] + rec["paused_seconds"] + rec["idle_seconds"]
    assert total == pytest.approx(rec["wall_seconds"], abs=1)
    assert rec["working_seconds"] <= rec["wall_seconds"] - 30
    assert f"working time: {bl.hms(rec['working_seconds'])}" in screen

    monkeypatch.setenv("RSIBENCH_ROOT", str(REPO))
    out = CliRunner().invoke(main, ["baseline", "summary", "--json", "--dir", str(folder)])
    (row,) = json.loads(out.output)
    assert (row["task_id"], row["attempts"], row["successes"]) == ("grad-accum/hinted", 1, 1)
    assert row["geomean_minutes"] == pytest.approx(rec["working_seconds"] / 60, abs=0.01)
    assert_sandbox_removed(folder, "alice", "grad-accum/hinted")


def assert_sandbox_removed(folder: Path, name: str, task_id: str) -> None:
    import docker.errors

    from rsibench import engine

    state = json.loads((folder / "sessions" / name / task_id / "state.json").read_text())
    deadline = time.monotonic() + 60  # removed as the host process ends
    while time.monotonic() < deadline:
        try:
            engine.client().containers.get(state["containers"]["agent"])
        except docker.errors.NotFound:
            return
        time.sleep(0.5)
    raise AssertionError(f"{state['containers']['agent']} is still there")


@pytest.mark.docker
def test_an_interrupted_baseline_resumes_with_its_files(terminal, image_tag, mini_copy, tmp_path):
    """Closing the terminal stops the clock and keeps /workspace; the same command resumes it."""
    terminal.env["RSIBENCH_ROOT"] = str(mini_copy)
    folder = tmp_path / "baselines"
    args = ["baseline", "fix-answer/easy", "--name", "bob", "--dir", str(folder)]
    terminal.open("main", *args)
    terminal.ready("main", timeout=180)
    terminal.keys("main", "echo 'print(42)' > answer.py && python3 answer.py")
    terminal.wait("main", "\n42\n")
    terminal.close_window("main")  # the terminal goes away (SIGHUP)
    state_file = folder / "sessions" / "bob" / "fix-answer" / "easy" / "state.json"
    deadline = time.monotonic() + 60
    while json.loads(state_file.read_text())["status"] != "interrupted":
        assert time.monotonic() < deadline, state_file.read_text()
        time.sleep(0.5)
    assert_sandbox_removed(folder, "bob", "fix-answer/easy")
    time.sleep(5)  # the clock is stopped meanwhile

    terminal.open("again", *args)
    screen = terminal.ready("again", timeout=180)
    assert "Resuming fix-answer/easy for bob" in screen
    terminal.keys("again", "cat answer.py; submit -y")
    screen = terminal.wait("again", "EXIT=", timeout=180)
    assert "print(42)" in screen and "verdict:      SUCCESS" in screen, screen
    (rec,) = bl.load_baselines(folder)
    assert rec["success"] and len(rec["interruptions"]) == 1
    assert rec["interrupted_seconds"] >= 5
    total = rec["working_seconds"] + rec["interrupted_seconds"] + rec["idle_seconds"]
    assert total == pytest.approx(rec["wall_seconds"], abs=1)


@pytest.mark.docker
def test_leaving_the_last_shell_and_confirming_scores_and_rescore_appends(
    terminal, image_tag, mini_copy, tmp_path, monkeypatch
):
    """`exit` from the only shell asks what next; `s` scores the untouched starting state,
    which fails. The archive is kept, and `rescore` scores it again into a new line."""
    terminal.env["RSIBENCH_ROOT"] = str(mini_copy)
    folder = tmp_path / "baselines"
    terminal.open("main", "baseline", "fix-answer/hard", "--name", "carol", "--dir", str(folder))
    terminal.ready("main", timeout=180)
    terminal.keys("main", "exit")
    terminal.wait("main", "[r]eopen a shell, [s]ubmit for scoring, [q]uit and resume later?")
    terminal.keys("main", "s")
    screen = terminal.wait("main", "EXIT=", timeout=180)
    assert "verdict:      FAILED: normalised score 0.000" in screen, screen
    (rec,) = bl.load_baselines(folder)
    assert rec["success"] is False and rec["error"] is None and rec["score_normalised"] == 0

    monkeypatch.setenv("RSIBENCH_ROOT", str(mini_copy))
    out = CliRunner().invoke(main, ["baseline", "rescore", "--dir", str(folder)])
    assert "no attempt to rescore" in out.output  # nothing unscored
    out = CliRunner().invoke(main, ["baseline", "rescore", rec["attempt_id"], "--dir", str(folder)])
    assert out.exit_code == 0 and "FAILED: normalised score 0.000" in out.output, out.output
    lines = (folder / "carol.jsonl").read_text().splitlines()
    assert len(lines) == 2 and len(bl.load_baselines(folder)) == 1
    again = bl.load_baselines(folder)[0]
    assert again["scored_at"] >= rec["scored_at"]
    assert {k: again[k] for k in ("working_seconds", "started_at")} == {
        k: rec[k] for k in ("working_seconds", "started_at")
    }


@pytest.mark.docker
def test_an_attempt_whose_scoring_died_is_kept_and_rescored(
    image_tag, mini_copy, tmp_path, monkeypatch
):
    """The host stopped after `submit` but before the verdict: the next start records the
    attempt unscored with its last snapshot, and `rescore` (default: unscored) scores it."""
    import tarfile

    monkeypatch.setenv("RSIBENCH_ROOT", str(mini_copy))
    folder = tmp_path / "baselines"
    paths = bl.Paths(folder, "dana", "fix-answer/easy")
    paths.session.mkdir(parents=True)
    workspace = tmp_path / "ws"
    shutil.copytree(mini_copy / "tasks" / "debugging" / "fix-answer" / "solution", workspace)
    with tarfile.open(paths.snapshot, "w") as tar:  # as archive_workspace writes it
        for f in sorted(workspace.iterdir()):
            tar.add(f, arcname=f.name)  # names relative to /workspace
    state = record("fix-answer/easy", "dana", 3.0)
    clock = bl.Clock(600, started=1000.0, running_since=1000.0, last_activity=1100.0)
    bl.write_state(
        paths,
        {
            "attempt_id": state["attempt_id"],
            "name": "dana",
            "suite_version": "0.1.0+test",
            "task": {
                k: state[k]
                for k in (
                    "task_id",
                    "family",
                    "variant",
                    "category",
                    "human_minutes",
                    "human_minutes_source",
                    "threshold",
                )
            },  # fmt: skip
            "idle_minutes": 10.0,
            "image": image_tag,
            "image_digest": None,
            "status": "submitted",
            "submitted_at": 1180.0,
            "checkpoint_at": 1180.0,
            "clock": clock.to_json(),
        },
    )
    with pytest.raises(bl.BaselineError, match="submitted but not scored"):
        bl._resumable(paths, restart=False)
    (rec,) = bl.load_baselines(folder)
    assert rec["error"].startswith("scoring was interrupted (workspace as of its last snapshot")
    assert rec["working_seconds"] == 180 and (folder / rec["workspace_archive"]).is_file()
    assert bl._resumable(paths, restart=False) is None  # the next start is a new attempt

    out = CliRunner().invoke(main, ["baseline", "rescore", "--dir", str(folder)])
    assert out.exit_code == 0 and "SUCCESS" in out.output, out.output
    (rec,) = bl.load_baselines(folder)
    assert rec["success"] and rec["error"] is None and rec["working_seconds"] == 180
