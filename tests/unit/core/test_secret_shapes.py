"""Each known credential shape is named for the config-secret pass and hidden by redaction: one list serves both."""

import pytest

from devops_orchestra.core.redaction import MASK, hide_plain_secrets
from devops_orchestra.core.secret_shapes import known_shape


# Built from parts so this file is not itself a leaked-token finding for other scanners.
@pytest.mark.parametrize(("token", "name"), [
    ("AKIA" + "Z7VULNSHOP4EXMPL", "AWS access key ID"),
    ("ASIA" + "Z7VULNSHOP4EXMPL", "AWS access key ID"),
    ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "GitHub token"),
    ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "GitHub fine-grained token"),
    ("glpat-" + "x1Y2z3A4b5C6d7E8f9G0", "GitLab token"),
    ("xoxb-" + "2461829371-5839201746-Qm7Rt2Vx9Lk4Np8Wc3Zs6Hd1", "Slack token"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe live key"),
    ("AIza" + "SyD-abcdefghijklmnopqrstuvwxyz01234", "Google API key"),
    ("eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
     "JSON Web Token"),
])
def test_each_shape_is_named_and_hidden(token: str, name: str) -> None:
    assert known_shape(f"value: {token}") == name
    assert hide_plain_secrets(f"see {token} here") == f"see {MASK} here"


@pytest.mark.parametrize("text", ["AKIA-not-a-key", "ghp_short", "eyJ.only.dots", "models/users/token.md", ""])
def test_near_misses_are_no_shape(text: str) -> None:
    assert known_shape(text) is None


def test_a_private_key_header_is_a_shape() -> None:
    assert known_shape("-----BEGIN EC PRIVATE KEY-----") == "private key"
    assert known_shape("-----BEGIN PUBLIC KEY-----") is None
