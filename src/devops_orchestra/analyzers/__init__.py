"""Our own in-process analyses: stack, infrastructure, import graph, complexity, diagrams."""
