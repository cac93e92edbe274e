"""The webhook server's HTTP face: POST /github (GitHub deliveries), GET /healthz, and whatever other routes the
command adds (Slack's, from chatops). Starlette, served by uvicorn: both come with the MCP SDK."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from devops_orchestra.gitops.intake import Intake

MAX_BODY = 25 * 1024 * 1024  # GitHub caps a delivery at 25 MB


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The raw body, or None when it is larger than limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def webhook_app(intake: Intake, routes: Sequence[BaseRoute] = ()) -> Starlette:
    async def github(request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            return JSONResponse({"error": "the body is larger than GitHub's 25 MB"}, status_code=413)
        answer = await intake.receive(request.headers, body)
        key = "message" if answer.status < 400 else "error"
        return JSONResponse({key: answer.message} | ({"run_id": answer.run_id} if answer.run_id else {}),
                            status_code=answer.status)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/github", github, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"]), *routes])
