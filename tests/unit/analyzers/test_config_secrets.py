"""The config-secret pass judges the value under a secret-named key, not the key alone."""

import pytest

from devops_orchestra.analyzers.config_secrets import find_secrets, judge

# Built from parts so this file is not itself a leaked-token finding for other scanners.
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "2461829371-5839201746-Qm7Rt2Vx9Lk4Np8Wc3Zs6Hd1"
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


@pytest.mark.parametrize(("file", "text", "expected"), [
    # the issue: a docs navigation entry whose title is "Token" and whose value is a page
    ("mkdocs.yml", "        - Users:\n            - Token: 'models/users/token.md'\n", []),
    ("app.yaml", f"github_token: {GITHUB}\n", [(1, "github_token", "high", "a GitHub token")]),
    ("app.yaml", "aws:\n  access_key_id: AKIAZ7VULNSHOP4EXMPL\n",
     [(2, "access_key_id", "high", "an AWS access key ID")]),
    ("config.json", f'{{\n  "slack_token": "{SLACK}",\n  "token_url": "/oauth/token"\n}}\n',
     [(2, "slack_token", "high", "a Slack token")]),
    ("pyproject.toml", f'[tool.app]\napi_key = "{JWT}"\n', [(2, "api_key", "high", "a JSON Web Token")]),
    (".env", "export SECRET_KEY=3f9a1c0e5b7d2a4f6e8c0b1d3f5a7c9e\nPASSWORD=\n",
     [(1, "SECRET_KEY", "medium", "a random-looking value")]),
    ("setup.cfg", "[db]\npassword = Orders2019!  ; prod\npassword_file = /run/secrets/db\n",
     [(2, "password", "medium", "a password-like literal")]),
    ("app.properties", "app.client-secret=q8Xv2LmR7tYw3Nz5Kp9Bd4Hs6Jf1Gc0Ae2Ui8OyT\n",
     [(1, "app.client-secret", "medium", "a random-looking value")]),
    ("k8s.yaml", '  env:\n    - name: DB_PASSWORD\n      value: "Orders2019!"\n    - name: API_TOKEN\n'
                 "      valueFrom: {secretKeyRef: {name: api, key: token}}\n",
     [(3, "DB_PASSWORD", "medium", "a password-like literal")]),
    ("main.tf", 'resource "x" "y" {\n  password = var.db_password\n  token = data.vault_generic_secret.t.data\n}\n',
     []),
    ("compose.yml", "  DATABASE_URL: postgres://shop:${DB_PASSWORD}@db/shop\n  REDIS_URL: redis://:s3cr3t!x@cache:6379/0\n",
     [(2, "password in a URL", "medium", "a password in a connection URL")]),
    ("key.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n", [(1, "private key", "high", "a private key")]),
    ("app.yaml", "# password: Orders2019!\n", []),
])
def test_what_each_config_form_flags(file: str, text: str, expected: list[tuple[int, str, str, str]]) -> None:
    found = [(s.line, s.key, s.confidence, s.why) for s in find_secrets(file, text)]
    assert [(line, key, confidence) for line, key, confidence, _ in found] == [e[:3] for e in expected]
    assert all(why.startswith(e[3]) for (*_, why), e in zip(found, expected, strict=True))


@pytest.mark.parametrize(("key", "value"), [
    ("Token", "'models/users/token.md'"),  # a file path
    ("token_page", "docs/api/tokens.html"),
    ("password_file", "./secrets/db.txt"),
    ("ssh_private_key", "~/.ssh/id_ed25519"),
    ("secret", "/run/secrets/app"),
    ("token", "https://auth.example.com/oauth2/token"),  # a URL without a password
    ("api_key", "${API_KEY}"),  # placeholders and environment references
    ("api_key", '"${API_KEY:-dev}"'),
    ("token", "{{ .Values.token }}"),
    ("token", "Bearer {{ secrets.TOKEN }}"),
    ("password", "<your-password>"),
    ("password", "changeme"),
    ("password", "%(DB_PASSWORD)s"),
    ("password", "$DB_PASSWORD"),
    ("password", "!Ref DbPassword"),
    ("password", "*db_password"),  # a YAML alias: a reference to another key
    ("password", "var.db_password"),
    ("secret", "settings.SECRET_KEY"),
    ("token", "GITHUB_TOKEN"),  # the name of the variable that holds it
    ("password", '""'),  # empty, boolean, number, duration
    ("password", ""),
    ("token_required", "true"),
    ("password", "null"),
    ("password_min_length", "12"),
    ("token_ttl", "3600s"),
    ("secret_level", "critical"),  # words and names, not values
    ("secretName", "db-credentials"),
    ("password", "averyveryverylongsecretword"),
    ("auth_token", "a plain sentence about tokens"),
    ("api_key", "'see the team vault'"),
    ("token_name", "x8Kd92mQ1zPw7RtY"),  # a key about a secret, not holding one
    ("password", "aB3$xy"),  # too short to tell from a setting
    ("secret", "aaaaaaaaaaaaaaaaaaaaaaab1"),  # no entropy to speak of
])
def test_values_that_are_plainly_not_secrets_are_not_flagged(key: str, value: str) -> None:
    assert judge(key, value) is None


@pytest.mark.parametrize(("key", "value", "confidence"), [
    ("token", GITHUB, "high"),
    ("token", "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "high"),
    ("api_key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "high"),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----", "high"),
    ("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "medium"),  # base64 with slashes: no path
    ("SECRET_KEY", "django-insecure-k2#p9@x!m4", "medium"),
    ("secret", "QmRtVxLkNpWcZsHdQaYbTeUfIgOh", "medium"),  # letters only, but random mixed case
    ("password", "'Orders2019!'", "medium"),
    ("password", "hunter2hunter # the old one", "medium"),
])
def test_secret_values_are_flagged_with_how_sure(key: str, value: str, confidence: str) -> None:
    found = judge(key, value)
    assert found is not None and found.confidence == confidence
