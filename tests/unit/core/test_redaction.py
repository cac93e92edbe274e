"""No secret value in any output: lines known to hold secrets, plain secrets anywhere, code left readable."""

from devops_orchestra.core.redaction import MASK, hide_plain_secrets, hide_secrets, redact
from devops_orchestra.models import Finding, Location, Remediation, Severity


def _finding(path: str, line: int, snippet: str, *, category: str = "insecure-config", title: str = "t",
             message: str = "m", end: int | None = None) -> Finding:
    return Finding(id=f"{path}:{line}:{category}", rule_id=f"x:{category}", scanner="checkov", category=category,
                   severity=Severity.high, title=title, message=message,
                   location=Location(path=path, start_line=line, end_line=end or line, snippet=snippet),
                   remediation=Remediation(summary="fix it"))


def test_a_secret_line_loses_every_value() -> None:
    assert redact('password = "hunter2secret"') == f'password = "{MASK}"'
    assert redact("ENV DB_PASSWORD=hunter2secret") == f"ENV DB_PASSWORD={MASK}"
    assert redact("ARG API_TOKEN hunter2secret") == f"ARG API_TOKEN {MASK}"
    assert redact("export TOKEN=abc") == f"export TOKEN={MASK}"
    assert "ghp" not in redact("  token: ghp_abcdefghijklmnopqrstuvwxyz0123456789")


def test_plain_secrets_go_everywhere_and_code_stays() -> None:
    url = 'db = "postgresql://shop:S3cr3tPass@db/shop"'
    assert hide_plain_secrets(url) == f'db = "postgresql://shop:{MASK}@db/shop"'
    bandit = "Possible hardcoded password: 'hunter2secret'"
    assert hide_plain_secrets(bandit) == f"Possible hardcoded password: '{MASK}'"
    assert hide_plain_secrets("ENV DB_PASSWORD=hunter2secret") == f"ENV DB_PASSWORD={MASK}"
    assert hide_plain_secrets("key = AKIAABCDEFGHIJKLMNOP") == f"key = {MASK}"
    for code in ('password = request.form["password"]', "token = get_token()", "api_key = os.environ[KEY]",
                 "secret = None", 'cur.execute("SELECT * FROM users WHERE password = \'" + pw + "\'")',
                 "hashlib.md5(password.encode())", "DB_PASSWORD: ${DB_PASSWORD}"):
        assert hide_plain_secrets(code) == code, code


def test_findings_hide_what_secret_findings_point_at_in_every_snippet_and_message() -> None:
    secret = _finding("Dockerfile", 2, "ENV DB_KEY hunter2secret", category="secret")
    docker = _finding("Dockerfile", 1, "FROM python:3.12\nENV DB_KEY hunter2secret\nUSER app")
    quoted = _finding("app.py", 9, "x = 1", message="compares with 'hunter2secret' here")
    clean = _finding("app.py", 3, 'subprocess.run(cmd, shell=True)')
    out = hide_secrets([secret, docker, quoted, clean])
    assert "hunter2secret" not in "".join(f.model_dump_json() for f in out)
    assert out[1].location.snippet == f"FROM python:3.12\nENV DB_KEY {MASK}\nUSER app"
    assert out[3] is clean and [f.id for f in out] == [f.id for f in (secret, docker, quoted, clean)]
