"""Compliance as code: the frameworks and gates (policies), and the repository checks that gather evidence."""
