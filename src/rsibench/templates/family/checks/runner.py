"""Runs the candidate's code as the candidate user, talking to cases.py over stdin/stdout.
$canary

Public: the candidate's process can read this file, so it holds nothing secret.
TODO(rsibench): see tasks/debugging/grad-accum/checks/runner.py.
"""
