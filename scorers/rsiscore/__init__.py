"""Shared library for rsibench scorer programs.

Scorers run as root inside the verifier container (see DESIGN.md, "Scoring"). This package holds
what every scorer needs: reading the harness's arguments and writing the verdict fail-closed
(``verdict``), and reading, copying and running the candidate's work as the unprivileged
candidate user (``candidate``).
"""
