"""rsibench: how long a task of AI research and development can an agent do on its own?"""

__version__ = "0.1.0"
