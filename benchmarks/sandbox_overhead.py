"""Sandbox overhead: median exec latency and per-sample setup + teardown of the rsibench provider.

Targets: exec <= 10 ms median; both containers up and down in <= 1 s. Raw Docker SDK
``exec_run`` on the same container is measured in the same run, so the ratio shows our own cost
apart from the machine's (runc exec dominates and varies with load; the provider does not use it:
commands go to the container's exec server, rsibench.execd). Also measured: ``exec`` with 1 MiB
of stdin, 16 ``exec`` calls at once, 10 MiB of stdout, and the end of the agent's turn with the
workspace export that scoring starts with (kill every process, freeze, stream the archive).

    python benchmarks/sandbox_overhead.py [--execs 200] [--samples 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import anyio

from rsibench import images
from rsibench.sandbox import RsibenchSandbox, SandboxConfig
from rsibench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mini"


def ms(seconds: list[float]) -> str:
    q = statistics.quantiles(seconds, n=20)
    return f"median {statistics.median(seconds) * 1e3:7.1f} ms   p95 {q[18] * 1e3:7.1f} ms"


def end_turn(agent: RsibenchSandbox) -> None:
    agent.export_workspace().archive.close()


async def measure(execs: int, samples: int) -> None:
    suite = load_suite(FIXTURE)
    variant = suite.variants[0]
    tag = images.build(ROOT, variant.family.image)
    cfg = SandboxConfig.for_sample(suite.sample_spec(variant, tag, None))

    lifecycle, setup, export = [], [], []
    for _ in range(samples):
        t0 = time.perf_counter()
        envs = await RsibenchSandbox.sample_init("bench", cfg, {})
        t1 = time.perf_counter()
        # what scoring starts with; its container is then removed frozen, as after scoring
        await anyio.to_thread.run_sync(end_turn, envs["default"].as_type(RsibenchSandbox))
        t2 = time.perf_counter()
        await RsibenchSandbox.sample_cleanup("bench", cfg, envs, False)
        setup.append(t1 - t0)
        export.append(t2 - t1)
        lifecycle.append(time.perf_counter() - t2 + t1 - t0)

    envs = await RsibenchSandbox.sample_init("bench", cfg, {})
    agent = envs["default"].as_type(RsibenchSandbox)
    try:
        ours, raw = [], []
        for _ in range(execs):  # interleaved, so both see the same machine
            t0 = time.perf_counter()
            await agent.exec(["true"])
            t1 = time.perf_counter()
            agent.container.exec_run(["true"], user="agent")
            raw.append(time.perf_counter() - t1)
            ours.append(t1 - t0)
        stdin, concurrent, bulk = [], [], []
        mib = b"x" * 2**20
        for _ in range(max(20, execs // 10)):
            t0 = time.perf_counter()
            await agent.exec(["sh", "-c", "cat >/dev/null"], input=mib)
            stdin.append(time.perf_counter() - t0)
        for _ in range(max(5, execs // 40)):
            t0 = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(agent.exec, ["true"])
            concurrent.append(time.perf_counter() - t0)
        for _ in range(5):
            t0 = time.perf_counter()
            await agent.exec(["head", "-c", str(10 * 2**20), "/dev/zero"])
            bulk.append(time.perf_counter() - t0)
    finally:
        await RsibenchSandbox.sample_cleanup("bench", cfg, envs, False)

    print(f"exec, rsibench provider ({execs}x): {ms(ours)}   target <= 10 ms median")
    print(f"exec, raw SDK exec_run  ({execs}x): {ms(raw)}")
    print(f"provider / raw median ratio: {statistics.median(ours) / statistics.median(raw):.2f}")
    print(f"exec with 1 MiB stdin ({len(stdin)}x): {ms(stdin)}")
    print(f"16 concurrent execs, all done ({len(concurrent)}x): {ms(concurrent)}")
    print(f"exec printing 10 MiB ({len(bulk)}x): {ms(bulk)}")
    print(f"sample setup (2 containers + 3 volumes + workspace copy): {ms(setup)}")
    print(f"end of turn + workspace export ({samples}x): {ms(export)}")
    print(f"sample setup + teardown ({samples}x): {ms(lifecycle)}   target <= 1000 ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--execs", type=int, default=200)
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    anyio.run(measure, args.execs, args.samples)


if __name__ == "__main__":
    main()
