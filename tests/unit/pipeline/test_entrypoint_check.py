"""The semantic check of generated Dockerfiles: the command's file or module exists, EXPOSE is the code's port."""

from pathlib import Path

from devops_orchestra.models.pipeline import ServiceSpec
from devops_orchestra.pipeline import detect, entrypoint_check, rendering
from tests.helpers import SAMPLES, write

PYTHON_TAIL = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nEXPOSE {port}\nCMD {cmd}\n"


def dockerfile(cmd: str, port: int = 8000) -> list[rendering.Rendered]:
    return [rendering.Rendered("dockerfile", "Dockerfile", PYTHON_TAIL.format(cmd=cmd, port=port))]


def spec(**kw: object) -> ServiceSpec:
    return ServiceSpec.model_validate({"name": "app", "path": ".", "language": "python", **kw})


def test_a_missing_file_is_a_finding_with_line_and_fix(tmp_path: Path) -> None:
    root = write(tmp_path, {"run.py": "from aiohttp import web\nif __name__ == '__main__':\n    web.run_app(app)\n"})
    verdict = entrypoint_check.check(root, dockerfile('["python", "main.py"]'), [spec()])
    [issue] = [i for i in verdict.issues if i.rule == "entrypoint:missing-file"]
    assert (issue.path, issue.line) == ("Dockerfile", 5)
    assert "python run.py" in issue.fix


def test_the_port_mismatch_names_the_code_port(tmp_path: Path) -> None:
    root = write(tmp_path, {"run.py": "from aiohttp import web\nif __name__ == '__main__':\n"
                                      "    web.run_app(app, port=8080)\n"})
    verdict = entrypoint_check.check(root, dockerfile('["python", "run.py"]', port=8000), [spec()])
    [issue] = verdict.issues
    assert issue.rule == "entrypoint:port-mismatch" and issue.line == 4 and "8080" in issue.title


def test_matching_file_and_port_pass(tmp_path: Path) -> None:
    root = write(tmp_path, {"run.py": "from aiohttp import web\nif __name__ == '__main__':\n"
                                      "    web.run_app(app, port=8080)\n"})
    assert entrypoint_check.check(root, dockerfile('["python", "run.py"]', port=8080), [spec()]).issues == []


def test_a_missing_module_is_a_finding(tmp_path: Path) -> None:
    root = write(tmp_path, {"shop/wsgi.py": "application = get_wsgi_application()\n"})
    ok = entrypoint_check.check(root, dockerfile('["gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi"]'), [spec()])
    assert ok.issues == []
    bad = entrypoint_check.check(root, dockerfile('["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi"]'), [spec()])
    assert [i.rule for i in bad.issues] == ["entrypoint:missing-module"]


def test_a_port_named_in_the_command_must_be_exposed(tmp_path: Path) -> None:
    root = write(tmp_path, {"app.py": "app = Flask(__name__)\n"})
    verdict = entrypoint_check.check(root, dockerfile('["gunicorn", "--bind", "0.0.0.0:5000", "app:app"]'), [spec()])
    assert [i.rule for i in verdict.issues] == ["entrypoint:port-mismatch"]


def test_when_it_cannot_tell_it_says_so(tmp_path: Path) -> None:
    root = write(tmp_path, {"run.py": "import os\nif __name__ == '__main__':\n    app.run(port=pick())\n"})
    verdict = entrypoint_check.check(root, dockerfile('["python", "run.py"]'), [spec()])
    assert verdict.issues == []
    assert any("cannot tell which port" in n for n in verdict.notes)


def test_node_reading_port_from_env_set_by_the_image(tmp_path: Path) -> None:
    root = write(tmp_path, {"server.js": "app.listen(process.env.PORT || 3000)\n"})
    text = 'FROM node:20\nENV PORT=4000\nWORKDIR /app\nCOPY . .\nEXPOSE 4000\nCMD ["node", "server.js"]\n'
    node = spec(language="node")
    assert entrypoint_check.check(root, [rendering.Rendered("dockerfile", "Dockerfile", text)], [node]).issues == []
    missing = text.replace("server.js", "index.js")
    [issue] = entrypoint_check.check(root, [rendering.Rendered("dockerfile", "Dockerfile", missing)], [node]).issues
    assert issue.rule == "entrypoint:missing-file"


def test_every_generated_template_passes_on_its_own_sample(tmp_path: Path) -> None:
    """The templates and detection agree: each stack's generated Dockerfile starts what exists, on its port."""
    for name, files in SAMPLES.items():
        root = write(tmp_path / name, files)
        components = detect.detect(root)
        plan = rendering.Plan()
        rendering.dockerfiles(components, plan)
        verdict = entrypoint_check.check(root, plan.files, components)
        assert verdict.issues == [], (name, verdict.issues)
