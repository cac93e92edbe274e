"""The testing agent: runs the repository's own tests in an isolated copy with coverage, ranks the functions they
leave unrun by risk, checks for missing modules and run-time errors, and writes tests that pass and add coverage.

Everything here runs the repository's code (its tests): the tools that call it say so.
"""
