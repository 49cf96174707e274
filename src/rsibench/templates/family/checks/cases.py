"""Hidden checks for $family (trusted, root-only: never readable by the candidate). $canary

TODO(rsibench): check(channel, seed, scenarios) -> {scenario: {"ok": bool, ...}}. Everything that
decides the verdict (the reference, expected values, the comparison) stays in this process; send
the runner inputs as data over ``channel`` and judge what comes back. See
tasks/debugging/grad-accum/checks/cases.py and docs/writing-tasks.md.
"""
