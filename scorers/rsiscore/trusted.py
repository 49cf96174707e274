"""Loading the family's trusted modules (checks/) into the scorer's own process.

Only root-owned files the harness put under the verifier's hidden folder are loaded this way:
never candidate code, which runs only in candidate processes (see ``candidate``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: Path, name: str | None = None) -> ModuleType:
    """Import the file ``path`` as a module named ``name`` (default ``rsi_<stem>``), registered
    in ``sys.modules`` so that spawned worker processes and pickled classes find it again."""
    name = name or f"rsi_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the trusted module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
