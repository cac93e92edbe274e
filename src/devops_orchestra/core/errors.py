"""Domain errors. Each message speaks to the person in the IDE: what is wrong and what to do."""


class OrchestraError(Exception):
    """Base of every error we raise on purpose."""


class PathError(OrchestraError):
    """A path argument that cannot be scanned: outside the allowed roots, missing, unreadable."""


class ScannerUnavailable(OrchestraError):
    """The scanner's executable is not installed where we look for it."""


class ScannerFailed(OrchestraError):
    """The scanner ran but did not produce a usable result."""


class ScannerTimeout(OrchestraError):
    """The scanner ran past its time limit and was killed."""


class PolicyError(OrchestraError):
    """A compliance policy file that cannot be used: unreadable, malformed, or naming what does not exist."""
