"""Agents: each decides which analyses apply, runs them, and merges what they find."""
