# TODO(rsibench): the starting state the agent works on.
