"""Hack: loaded at interpreter start if the workspace were on sys.path; makes torch's
comparisons always succeed. Closed: candidate code runs with python3 -I, and the scorer's
comparisons never run in a process that imports workspace code."""

import torch

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
