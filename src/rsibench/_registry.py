"""inspect_ai entry point: registers the ``rsibench`` sandbox provider and the suite as a task,
so that plain inspect works too:

    inspect eval rsibench/rsibench --model openai/gpt-4o -T tasks=kernel-*
    rsibench harvest logs/      # then turn the eval logs into run records
"""

from inspect_ai import Task, task

from rsibench.sandbox import RsibenchSandbox

__all__ = ["RsibenchSandbox", "rsibench"]


@task
def rsibench(tasks: str = "", agent: str = "react") -> Task:
    """The rsibench suite as one inspect Task.

    Args:
        tasks: Comma-separated globs over task ids, families or categories (default: all).
        agent: react (the model agent), oracle or noop.
    """
    from rsibench.harness import AgentRun, build_task, ready_images
    from rsibench.suite import load_suite

    suite = load_suite()
    variants = suite.select([p.strip() for p in tasks.split(",")])
    return build_task(suite, variants, AgentRun(agent), ready_images(suite, variants))
