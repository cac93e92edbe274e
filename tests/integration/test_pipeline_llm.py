"""The optional LLM path against a local server speaking the Messages API: a drafted Dockerfile is validated."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from devops_orchestra.agents.pipeline import generate
from tests.helpers import RUST, write

DRAFT = """Here it is:
```dockerfile
FROM rust:1.83.0-slim-bookworm AS build
WORKDIR src
COPY Cargo.toml ./
COPY src ./src
RUN cargo build --release

FROM debian:12.8-slim
RUN useradd --system --uid 10001 app
COPY --from=build /src/target/release/svc /usr/local/bin/svc
USER 10001
EXPOSE 8080
CMD ["svc"]
```
"""


class FakeMessagesApi(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        key = self.headers.get("x-api-key") or self.headers.get("authorization")
        type(self).requests.append({"path": self.path, "key": key, "body": body})
        payload: dict[str, object]
        if self.status != 200:
            payload = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        else:
            payload = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                       "content": [{"type": "text", "text": DRAFT}], "stop_reason": "end_turn",
                       "stop_sequence": None, "usage": {"input_tokens": 50, "output_tokens": 80}}
        data = json.dumps(payload).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeMessagesApi]]:
    FakeMessagesApi.requests = []
    FakeMessagesApi.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessagesApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield FakeMessagesApi
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.scanners
async def test_drafted_dockerfile_goes_through_the_same_validation(tmp_path: Path, api: type[FakeMessagesApi]) -> None:
    root = write(tmp_path / "svc", RUST)
    report = await generate(root, "run", display_path=".", write=True)
    [request] = api.requests
    assert request["path"] == "/v1/messages" and request["key"] in ("test-key", "Bearer test-key")
    prompt = request["body"]["messages"][0]["content"]
    assert "--- Cargo.toml ---" in prompt and "USER 10001" in prompt
    assert [f.path for f in report.files] == ["Dockerfile", ".dockerignore"]
    assert report.files[0].content == DRAFT.split("```dockerfile\n")[1].split("```")[0]
    assert "drafted by" in report.notes[0]
    assert {r.name: r.status for r in report.linters} == {
        "parse": "ok", "checkov": "ok", "hadolint": "ok", "entrypoint": "ok"}  # a draft is checked like a template
    # The draft has no HEALTHCHECK and a relative WORKDIR: the linters say so, as they would for a template,
    # and a file with a high result is not written.
    rules = {f.rule_id: f.severity.value for f in report.findings}
    assert "checkov:CKV_DOCKER_2" in rules and rules["hadolint:DL3000"] == "high"
    assert not report.clean and report.files[0].lint
    assert [f.status for f in report.files] == ["not-written", "written"]
    assert not (root / "Dockerfile").exists() and (root / ".dockerignore").is_file()
    assert "Not written because high or critical lint results remain: Dockerfile." in report.notes


async def test_a_failing_api_is_a_listed_reason_not_a_crash(tmp_path: Path, api: type[FakeMessagesApi]) -> None:
    api.status = 529
    report = await generate(write(tmp_path / "svc", RUST), "run", display_path=".")
    assert report.files == []
    [gap] = report.unsatisfied
    assert gap.rule_id == "pipeline:stack" and "Drafting one with the LLM failed" in gap.reason
