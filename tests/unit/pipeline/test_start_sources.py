"""Where a component's start command and port come from: the repository's own files first, defaults last."""

from pathlib import Path

from devops_orchestra.models.pipeline import ServiceSpec
from devops_orchestra.pipeline import commands, detect
from tests.helpers import write

DVPWA = {  # anxolerd/dvpwa's shape: no main.py; run.py reads its port from config/dev.yaml
    "requirements.txt": "aiohttp==3.5.3\naiopg==0.15.0\ntrafaret-config==2.0.2\n",
    "run.py": ("import sys\nfrom aiohttp.web import run_app\nfrom sqli.app import init as init_app\n\n"
               "if __name__ == '__main__':\n    app = init_app(sys.argv[1:])\n"
               "    host = app['config']['app']['host']\n    port = app['config']['app']['port']\n"
               "    run_app(app, host=host, port=port)\n"),
    "sqli/__init__.py": "",
    "sqli/app.py": ("def init(argv):\n    ap = ArgumentParser()\n"
                    "    standard_argparse_options(ap, default_config='./config/dev.yaml')\n"),
    "config/dev.yaml": "db:\n  port: 5432\napp:\n  host: 0.0.0.0\n  port: 8080\n",
    "Dockerfile.app": "FROM python:alpine3.8\nWORKDIR /app\nADD ./run.py /app\nADD ./sqli /app/sqli\n",
    "Dockerfile.db": "FROM postgres:11-alpine\nEXPOSE 5432\n",
    "docker-compose.yml": ("services:\n  postgres:\n    build:\n      context: .\n      dockerfile: Dockerfile.db\n"
                           "    ports:\n      - 5432:5432\n  redis:\n    image: redis:alpine\n  sqli:\n    build:\n"
                           "      context: .\n      dockerfile: Dockerfile.app\n    ports:\n      - 8080:8080\n"
                           "    command: |\n      wait-for postgres:5432 -- python run.py\n"),
}


def one(root: Path) -> ServiceSpec:
    [c] = detect.detect(root)
    return c


def test_dvpwa_runs_run_py_from_compose_on_the_configured_port(tmp_path: Path) -> None:
    c = one(write(tmp_path / "dvpwa", DVPWA))
    assert c.start == ["python", "run.py"]
    assert c.start_from == "docker-compose.yml (service sqli, command)"
    assert (c.port, c.port_from) == (8080, "config/dev.yaml app.port (read by run.py)")


def test_without_compose_the_main_block_is_the_start(tmp_path: Path) -> None:
    files = {k: v for k, v in DVPWA.items() if k != "docker-compose.yml"}
    c = one(write(tmp_path / "dvpwa", files))
    assert (c.start, c.start_from) == (["python", "run.py"], "run.py: its __main__ block calls run_app()")
    assert c.port == 8080


def test_a_literal_port_in_the_main_block(tmp_path: Path) -> None:
    c = one(write(tmp_path / "a", {"requirements.txt": "aiohttp\n", "serve.py": (
        "from aiohttp import web\napp = web.Application()\nif __name__ == '__main__':\n"
        "    web.run_app(app, host='0.0.0.0', port=8765)\n")}))
    assert (c.start, c.port) == (["python", "serve.py"], 8765)
    assert c.port_from == "serve.py: the port its __main__ block passes"


def test_uvicorn_run_port_from_the_environment_default(tmp_path: Path) -> None:
    c = one(write(tmp_path / "u", {"requirements.txt": "starlette\nuvicorn\n", "main.py": (
        "import os, uvicorn\nif __name__ == '__main__':\n"
        "    uvicorn.run('main:app', host='0.0.0.0', port=int(os.environ.get('PORT', '7001')))\n")}))
    assert (c.start, c.port, c.port_from) == (["python", "main.py"], 7001, "main.py: $PORT, default 7001")


def test_flask_app_run_without_host_is_noted_and_its_port_used(tmp_path: Path) -> None:
    c = one(write(tmp_path / "f", {"requirements.txt": "flask\n", "app.py": (
        "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(port=5050)\n")}))
    assert c.start == ["flask", "--app", "app:app", "run", "--host", "0.0.0.0", "--port", "5050"]
    assert c.port == 5050


def test_asyncio_run_is_not_a_server(tmp_path: Path) -> None:
    c = one(write(tmp_path / "w", {"requirements.txt": "httpx\n", "worker.py": (
        "import asyncio\nif __name__ == '__main__':\n    asyncio.run(main())\n")}))
    assert c.start == ["python", "main.py"] and c.start_from.startswith("default")


def test_procfile_web_line_with_port_variable(tmp_path: Path) -> None:
    c = one(write(tmp_path / "p", {"requirements.txt": "gunicorn\nflask\n", "wsgi.py": "app = Flask(__name__)\n",
                                   "Procfile": "release: flask db upgrade\nweb: gunicorn wsgi:app --bind "
                                               "0.0.0.0:${PORT:-5100}\n"}))
    assert c.start == ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:5100"]
    assert (c.start_from, c.port) == ("Procfile:2 (web)", 5100)


def test_existing_dockerfile_cmd_and_expose_win_over_the_procfile(tmp_path: Path) -> None:
    c = one(write(tmp_path / "d", {
        "requirements.txt": "django\ngunicorn\n", "manage.py": "", "site1/wsgi.py": "",
        "Procfile": "web: gunicorn site1.wsgi\n",
        "Dockerfile": 'FROM python:3.12\nEXPOSE 9000\nCMD ["gunicorn", "--bind", "0.0.0.0:9000", "site1.wsgi"]\n'}))
    assert c.start == ["gunicorn", "--bind", "0.0.0.0:9000", "site1.wsgi"]
    assert (c.start_from, c.port) == ("Dockerfile:3 (CMD)", 9000)


def test_our_own_generated_dockerfile_is_not_read_back(tmp_path: Path) -> None:
    c = one(write(tmp_path / "g", {"requirements.txt": "aiohttp\n", "run.py": (
        "from aiohttp import web\nif __name__ == '__main__':\n    web.run_app(app, port=8081)\n"),
        "Dockerfile": '# Generated by devops-orchestra for g\nFROM python:3.12\nCMD ["python", "main.py"]\n'}))
    assert (c.start, c.port) == (["python", "run.py"], 8081)


def test_manage_py_names_the_wsgi_module(tmp_path: Path) -> None:
    c = one(write(tmp_path / "dj", {
        "requirements.txt": "Django\ngunicorn\n", "aaa/wsgi.py": "", "shop/wsgi.py": "", "shop/settings.py": "",
        "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"}))
    assert c.start == ["gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi:application"]
    assert c.start_from == "manage.py (DJANGO_SETTINGS_MODULE shop.settings)"


def test_compose_sh_c_npm_start_resolves_to_package_json(tmp_path: Path) -> None:
    c = one(write(tmp_path / "n", {  # OWASP/NodeGoat's shape
        "package.json": '{"scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}',
        "server.js": "app.listen(config.port)\n",
        "Dockerfile": "FROM node:12-alpine\nWORKDIR /app\nCOPY . .\nEXPOSE 4000\n",
        "docker-compose.yml": "services:\n  web:\n    build: .\n    command: sh -c \"until nc -z mongo 27017 && "
                              "node artifacts/db-reset.js && npm start; do sleep 2; done\"\n    ports:\n"
                              "      - \"4000:4000\"\n  mongo:\n    image: mongo:4.4\n"}))
    assert c.start == ["node", "server.js"]
    assert c.start_from == "docker-compose.yml (service web, command) -> package.json scripts.start"
    assert (c.port, c.port_from) == (4000, "Dockerfile:4 (EXPOSE)")


def test_package_json_start_and_the_port_in_code(tmp_path: Path) -> None:
    c = one(write(tmp_path / "e", {"package.json": '{"scripts": {"start": "node src/index.js"}}',
                                   "src/index.js": "app.listen(process.env.PORT || 4100)\n"}))
    assert (c.start, c.start_from) == (["node", "src/index.js"], "package.json scripts.start")
    assert (c.port, c.port_from) == (4100, "src/index.js: the port it listens on")


def test_go_takes_the_port_from_compose(tmp_path: Path) -> None:
    c = one(write(tmp_path / "go", {"go.mod": "module x\ngo 1.22\n", "main.go": "package main\n",
                                    "compose.yaml": "services:\n  api:\n    build: .\n    ports: [\"9090:8081\"]\n"}))
    assert (c.start, c.port, c.port_from) == (["/app/server"], 8081, "compose.yaml (service api, ports)")


def test_server_command_takes_wrappers_off() -> None:
    assert commands.server_command(["wait-for", "db:5432", "--", "python", "run.py"]) == ["python", "run.py"]
    assert commands.server_command(["sh", "-c", "python manage.py migrate && exec gunicorn a.wsgi"]) == \
        ["gunicorn", "a.wsgi"]
    assert commands.server_command(["sh", "-c", "echo hi"]) is None
    assert commands.port_in(["gunicorn", "-b", ":5000", "a:app"]) == 5000
    assert commands.port_in(["python", "manage.py", "runserver", "0.0.0.0:8001"]) == 8001


def test_gunicorn_config_file_names_the_port(tmp_path: Path) -> None:
    c = one(write(tmp_path / "h", {  # heroku/python-getting-started's shape
        "requirements.txt": "django\ngunicorn\n", "manage.py": "", "site1/wsgi.py": "",
        "Procfile": "web: gunicorn --config gunicorn.conf.py site1.wsgi\n",
        "gunicorn.conf.py": 'import os\nbind = ["[::]:{}".format(os.environ.get("PORT", 5006))]\n'}))
    assert (c.start, c.port) == (["gunicorn", "--config", "gunicorn.conf.py", "site1.wsgi"], 5006)
    assert c.port_from.startswith("gunicorn.conf.py: gunicorn's bind")


def test_node_entry_from_another_script_when_main_is_missing(tmp_path: Path) -> None:
    c = one(write(tmp_path / "g", {  # docker/getting-started-app's shape: main names a file that is not there
        "package.json": '{"main": "index.js", "scripts": {"dev": "nodemon -L src/index.js"}}',
        "src/index.js": "app.listen(3000, () => {})\n"}))
    assert (c.start, c.start_from) == (["node", "src/index.js"], "package.json scripts.dev (`nodemon -L src/index.js`)")


def test_a_package_main_module_runs_with_dash_m_and_its_config_is_found_by_name(tmp_path: Path) -> None:
    c = one(write(tmp_path / "polls", {  # aio-libs/aiohttp-demos polls' shape
        "requirements.txt": "aiohttp\n", "config/polls.yaml": "postgres:\n  port: 5432\nport: 8090\n",
        "polls/__init__.py": "", "polls/settings.py": "path = BASE / 'config' / 'polls.yaml'\n",
        "polls/main.py": ("from aiohttp import web\ndef main():\n    web.run_app(app, port=config['port'])\n\n"
                          "if __name__ == '__main__':\n    main()\n")}))
    assert (c.start, c.port) == (["python", "-m", "polls.main"], 8090)
    assert c.port_from == "config/polls.yaml port (read by polls/main.py)"
