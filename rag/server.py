"""The HTTP app: JSON API, OpenAI-compatible endpoint and chat page over one ``Engine``.

``main.py``-style wiring only: routes live in ``rag.api``, ``rag.openai_compat`` and
``rag.web``. The index and model load once, in a background thread started by the lifespan,
so the server answers at once: ``/healthz`` and every engine-backed route say 503 "loading"
until the engine is ready (or say why loading failed, e.g. no index yet).
"""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.engine import Engine
from rag.errors import BadQuestion, RagError, UnknownDocument
from rag.keys import KeyStore, Sessions
from rag.settings import Settings

WEB = Path(__file__).resolve().parent.parent / "web"


SESSION_COOKIE = "pqa_session"


class NotReady(RagError):
    """The engine is still loading, or failed to load."""


class Unauthorized(RagError):
    """API keys exist and the request carries neither a valid key nor a page session."""


class Runtime:
    """Holds the engine once it is loaded, and how loading went."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings, self.engine = settings, engine
        self.keys, self.sessions = KeyStore(settings.state_dir), Sessions(settings.state_dir)
        self.error: str | None = None
        self.started = time.monotonic()
        self.ready_after: float | None = 0.0 if engine else None

    def load(self) -> None:
        try:
            self.engine = Engine.load(self.settings)
            self.ready_after = time.monotonic() - self.started
        except RagError as e:
            self.error = str(e)

    def require(self) -> Engine:
        if self.engine is not None:
            return self.engine
        if self.error:
            raise NotReady(f"the server could not load its index: {self.error}")
        raise NotReady("the index and model are still loading; try again in a few seconds")


def get_engine(request: Request) -> Engine:
    return request.app.state.runtime.require()


EngineDep = Annotated[Engine, Depends(get_engine)]


def require_access(request: Request) -> None:
    """Open while no API key exists; then a Bearer key, or a same-origin chat-page session."""
    runtime: Runtime = request.app.state.runtime
    if not runtime.keys.keys():
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and runtime.keys.check(token.strip()):
        return
    if runtime.sessions.valid(request.cookies.get(SESSION_COOKIE)) and same_origin(request):
        return
    raise Unauthorized("send Authorization: Bearer <key> (an administrator creates keys with "
                       "`rag keys create`)")  # fmt: skip


def same_origin(request: Request) -> bool:
    """Was this sent by a page of this server (not another site using the visitor's cookie)?"""
    if request.headers.get("sec-fetch-site") == "same-origin":
        return True
    origin = request.headers.get("origin", "")
    return bool(origin) and origin.split("://", 1)[-1] == request.headers.get("host")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app; pass a loaded ``engine`` to skip background loading (tests)."""
    runtime = Runtime(settings or Settings.from_env(), engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if runtime.engine is None:
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

    from rag import api, openai_compat, web
    from rag.integrations import routers as integrations

    app.include_router(api.health)
    app.include_router(api.router)
    app.include_router(openai_compat.router)
    app.include_router(web.router)
    for router in integrations:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


STATUS = {BadQuestion: 400, Unauthorized: 401, UnknownDocument: 404, NotReady: 503}
HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": "5"}}


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status,
                        headers=HEADERS.get(status))  # fmt: skip


def _errors(app: FastAPI) -> None:
    """Every failure becomes ``{"error": code, "detail": message}`` with a 4xx/503 status."""

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = getattr(exc, "status", None) or STATUS.get(type(exc), 400)
        return error(status, type(exc).__name__, str(exc))

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
        return error(exc.status_code, "HTTPError", str(exc.detail))
