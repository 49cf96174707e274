"""Hack: loaded at interpreter start if the workspace were on sys.path; makes comparisons
always succeed. Closed: candidate code runs with python3 -I, and the scorer's comparisons never
run in a process that imports workspace code."""

import math

import torch

math.isclose = lambda *args, **kwargs: True
torch.allclose = lambda *args, **kwargs: True
