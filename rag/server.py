"""The HTTP app: JSON API, OpenAI-compatible endpoint and chat page over one ``Engine``.

``main.py``-style wiring only: routes live in ``rag.api``, ``rag.openai_compat`` and
``rag.web``. The index and model load once, in a background thread started by the lifespan,
so the server answers at once: ``/healthz`` and every engine-backed route say 503 "loading"
until the engine is ready (or say why loading failed, e.g. no index yet).
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import admin, api, openai_compat, web
from rag.deps import Runtime, error
from rag.engine import Engine
from rag.errors import BadQuestion, RagError, UnknownDocument
from rag.integrations import routers as integrations
from rag.settings import Settings
from rag.web import WEB


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

    app.include_router(api.health)
    app.include_router(api.router)
    app.include_router(api.page_router)
    app.include_router(openai_compat.router)
    app.include_router(web.router)
    app.include_router(admin.page)
    app.include_router(admin.router)
    for router in integrations:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


STATUS = {BadQuestion: 400, UnknownDocument: 404}


def _errors(app: FastAPI) -> None:
    """Every failure becomes ``{"error": code, "detail": message}`` with a 4xx/503 status."""

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = getattr(exc, "status", None) or STATUS.get(type(exc), 400)
        return error(status, type(exc).__name__, str(exc), getattr(exc, "headers", None))

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
