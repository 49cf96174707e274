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
    from rsibench.agents import AgentRun
    from rsibench.engine import DockerUnavailable
    from rsibench.harness import build_task, ready_images
    from rsibench.images import ImageError
    from rsibench.suite import SuiteError, load_suite

    try:
        suite = load_suite()
        variants = suite.select([p.strip() for p in tasks.split(",")])
        built = ready_images(suite, variants)
    except (SuiteError, DockerUnavailable, ImageError) as e:
        # These messages already say the fix; inspect prints anything but a PrerequisiteError
        # (which it keeps in a private module) with a traceback.
        from inspect_ai._util.error import (  # noqa: E501  # inspect-evals-lint: ignore[private_api_imports] -- the only error inspect prints without a traceback
            PrerequisiteError,
        )

        lines = e.problems if isinstance(e, SuiteError) else [str(e)]
        raise PrerequisiteError("rsibench: " + "\n  ".join(lines)) from None
    return build_task(suite, variants, AgentRun(agent), built)
