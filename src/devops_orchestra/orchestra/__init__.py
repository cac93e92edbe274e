"""The orchestra: the agents as consumers of events on a bus, run by workers on every push."""
