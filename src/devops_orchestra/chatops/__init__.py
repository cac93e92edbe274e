"""ChatOps out: a pipeline run's progress and verdict on GitHub (check runs, one PR comment, commit statuses,
SARIF) and in Slack (a thread per run, slash commands, approval buttons)."""
