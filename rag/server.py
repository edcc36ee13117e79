"""The HTTP app: JSON API, OpenAI-compatible endpoint and chat page over one ``Engine``.

``main.py``-style wiring only: routes live in ``rag.api``, ``rag.openai_compat`` and
``rag.web``; the bounds on what a client may cost live in ``rag.limits`` (body size and time,
answers in flight) and the security headers in ``rag.headers``. The index and model load once,
in a background thread started by the lifespan, so the server answers at once: ``/healthz`` and
every engine-backed route say 503 "loading" until the engine is ready (or say why loading
failed, e.g. no index yet).
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rag import admin, api, openai_compat, web
from rag.deps import Runtime, error, error_response
from rag.engine import Engine
from rag.errors import RagError
from rag.headers import SecurityHeaders
from rag.integrations import routers as integrations
from rag.limits import BodyLimit, Gate, Shedding
from rag.settings import Settings
from rag.site import STATIC

# The error statuses the OpenAPI document lists for the routes outside ``rag.api`` (route modules
# do not import one another, so they are given here, where the routers are put together). The
# bots and the library also refuse with 403 (signature, key) and 409 (replay, id conflict).
GUARDED_ERRORS = api.errors(400, 401, 403, 404, 408, 409, 413, 422, 503)
# Threads for the routes outside the answer slots (pages, library, admin): the pool is the
# answer slots plus these, so requests past the slots cannot queue again, unseen, for a thread.
SPARE_THREADS = 8
LARGER_BODIES = {"/api/docs": "max_upload_bytes"}  # path prefix → Settings field with its cap


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, load_first: bool = False
) -> FastAPI:
    """The app; pass a loaded ``engine`` to skip background loading (tests). ``load_first``
    loads the engine before the server takes connections (workers sharing a port: a worker
    still loading would answer 503 to requests its ready siblings could have answered)."""
    runtime = Runtime(settings or Settings.from_env(), engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threads = to_thread.current_default_thread_limiter()
        threads.total_tokens = runtime.settings.max_in_flight + SPARE_THREADS
        if runtime.engine is None and load_first:
            await asyncio.to_thread(runtime.load)
        elif runtime.engine is None:
            threading.Thread(target=runtime.load, name="engine-loader", daemon=True).start()
        yield

    app = FastAPIOffline(
        title="政策问答 API",
        description="Cited answers over Chinese policy texts. Same answers as the chat page.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    _errors(app)

    app.include_router(api.health)
    app.include_router(api.router)
    app.include_router(api.page_router)
    app.include_router(openai_compat.router, responses=api.ROUTE_ERRORS)
    app.include_router(web.router)
    app.include_router(admin.page)
    app.include_router(admin.router, responses=GUARDED_ERRORS)
    for router in integrations:
        app.include_router(router, responses=GUARDED_ERRORS)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    s = runtime.settings
    app.state.gate = Gate(s.max_in_flight)
    app.add_middleware(Shedding, gate=app.state.gate, wait=s.queue_wait)
    caps = {prefix: getattr(s, name) for prefix, name in LARGER_BODIES.items()}
    app.add_middleware(BodyLimit, max_bytes=s.max_body_bytes, seconds=s.body_timeout, caps=caps)
    app.add_middleware(SecurityHeaders)  # outermost of ours: refusals carry the headers too
    _honest_openapi(app)
    return app


def worker_app() -> FastAPI:
    """The app of one ``rag serve --workers N`` process (uvicorn imports it by name): settings
    come from the environment, where the parent put its command-line options; the engine loads
    before the worker takes connections (they wait in the shared socket's queue meanwhile), and
    repeated log lines are quietened as in a single-process server."""
    from rag.limits import quiet_repeats

    app = create_app(Settings.from_env(), load_first=True)
    quiet_repeats()
    return app


def _honest_openapi(app: FastAPI) -> None:
    """Two fixes to what FastAPI writes: it files documented error bodies under the route's
    media type (text/event-stream, text/plain), but errors are always JSON; and it calls an
    event stream a string, where our ``itemSchema`` describes each event."""
    build = app.openapi

    def openapi() -> dict:
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if code[0] in "45" and content and "application/json" not in content:
                        response["content"] = {"application/json": next(iter(content.values()))}
                    events = (content or {}).get("text/event-stream", {})
                    if "itemSchema" in events:
                        events.pop("schema", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _errors(app: FastAPI) -> None:
    """Every failure becomes ``{"error": code, "detail": message}`` with a 4xx/503 status:
    a ``RagError`` with its own ``status`` and ``code`` (``rag.errors``), FastAPI's and
    Starlette's own failures with the codes below."""

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error(400, "MalformedJSON", "the request body is not valid JSON")
        parts = [
            f"{'.'.join(str(x) for x in p.get('loc', ()) if x != 'body') or 'body'}: {p['msg']}"
            for p in problems
        ]
        return error(422, "InvalidRequest", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            detail = f"no such route: {request.method} {request.url.path}"
            return error(404, "NotFound", detail)
        if exc.status_code == 405:
            given = (exc.headers or {}).get("Allow", "GET, HEAD")  # static files name none
            allowed = ", ".join(allowed_methods(request) or given.split(", "))
            detail = f"{request.url.path} accepts {allowed}, not {request.method}"
            return error(405, "MethodNotAllowed", detail, {"Allow": allowed})
        return error(exc.status_code, "HTTPError", str(exc.detail), exc.headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route fully matches at this path (two routes may share one path)."""
    routes = request.app.router.routes

    def accepts(method: str) -> bool:
        return any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)

    return [m for m in METHODS if accepts(m)]
