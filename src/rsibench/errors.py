"""The error every input check raises: all problems found, one line each, at once."""

from __future__ import annotations


class ProblemsError(ValueError):
    """One or more problems in an input; ``problems`` holds one line each (file, field, fix)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
