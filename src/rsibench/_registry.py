"""inspect_ai entry point: importing this registers the ``rsibench`` sandbox provider."""

from rsibench.sandbox import RsibenchSandbox

__all__ = ["RsibenchSandbox"]
