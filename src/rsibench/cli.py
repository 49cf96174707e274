"""The `rsibench` command line."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rsibench")
def main() -> None:
    """rsibench: time horizons for autonomous AI R&D."""
