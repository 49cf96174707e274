"""Hidden checks for $family (trusted, never shown to the agent). $canary

TODO(rsibench): build(seed, scenarios) returns (inputs for the runner, expected results);
compare(results, inputs, expected) returns {scenario: {"ok": bool, ...}}.
"""
