"""rsibench: how long a task of AI research and development can an agent do on its own?"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["rsibench"]


def __getattr__(name: str) -> Any:
    # The inspect @task, exported lazily: importing it loads inspect-ai, which the analysis
    # commands (and `rsibench --help`) must not pay for.
    if name == "rsibench":
        from rsibench._registry import rsibench

        return rsibench
    raise AttributeError(f"module 'rsibench' has no attribute {name!r}")
