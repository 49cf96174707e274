"""Runs the candidate's code on the hidden inputs, as the candidate user. $canary

TODO(rsibench): python3 -I -B runner.py INPUTS_PT RESULTS_PT WORKSPACE_SNAPSHOT
"""
