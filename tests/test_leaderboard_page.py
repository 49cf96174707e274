"""The leaderboard page in a real browser: headless Chromium renders it without console errors
and without a single network request. Skipped, saying why, where Chromium is not installed
(scripts/setup.sh installs it, so CI runs it)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rsibench.cli import main

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (apt-get install chromium; scripts/setup.sh "
    "installs it)",
)
WIDTH = 1280
#: Schemes a self-contained page may load from.
LOCAL = ("file:", "data:", "about:", "chrome:", "chrome-error:", "blob:")


def render(page: Path, tmp: Path) -> tuple[bytes, list[str], list[str]]:
    """Screenshot PNG, console messages and URLs requested while Chromium loads ``page``."""
    png, netlog = tmp / "shot.png", tmp / "net.json"
    command = [
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr",
        "--log-level=0",
        f"--log-net-log={netlog}",
        "--hide-scrollbars",
        f"--window-size={WIDTH},3000",
        "--virtual-time-budget=3000",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"Chromium made no screenshot:\n{done.stderr[-3000:]}"
    console = [
        line for line in done.stderr.splitlines() if "CONSOLE" in line or ":CONSOLE(" in line
    ]
    # Requests the page made carry its site (file://) in their network isolation key; Chromium's
    # own background traffic (update checks, network time) does not, and is not the page's.
    log = netlog.read_text(errors="replace")
    urls = re.findall(r'"key":\s*"[^"]*_dk_file:// file:// ([^"]+)"', log)
    return png.read_bytes(), console, sorted({u for u in urls if not u.startswith(LOCAL)})


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("board")
    runs = tmp / "runs.jsonl"
    models = tmp / "models.yaml"
    models.write_text(
        "lab/early: {name: Early, organisation: Lab, release_date: 2024-01-15}\n"
        "lab/late: {name: Late, organisation: Lab, release_date: 2025-06-01}\n"
    )
    for model, horizon, judging in (("lab/early", 12, 2), ("lab/late", 150, 40)):
        result = CliRunner().invoke(
            main,
            ["simulate", "--synthetic", "32", "--horizon", str(horizon), "--horizon-by",
             f"research-judgement={judging}", "--model", model, "--out", str(runs)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    out = tmp / "site"
    args = ["leaderboard", str(runs), "--models", str(models), "--out-dir", str(out)]
    result = CliRunner().invoke(main, [*args, "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    return out / "leaderboard.html"


def test_the_page_renders_without_errors_or_network(page: Path, tmp_path: Path) -> None:
    shot, console, requests = render(page, tmp_path)
    width, height = png_size(shot)
    assert width == WIDTH and height >= 1000
    assert len(shot) > 50_000  # plots and tables were drawn, not a blank page
    assert console == []
    assert requests == []


def test_the_check_sees_console_errors_and_requests(tmp_path: Path) -> None:
    # The same check on a page that breaks both rules must catch both.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>bad</p>"
        '<img src="http://rsibench.invalid/x.png">'
        '<script>console.error("boom"); missing_function();</script></body></html>'
    )
    _, console, requests = render(bad, tmp_path)
    assert any("boom" in line for line in console), console
    assert any("rsibench.invalid" in url for url in requests), requests
