"""What every HTTP route depends on: the loaded engine, access control, the error shape.

``Runtime`` holds the engine once the background loader has built it (and why loading failed,
if it did). Routes declare ``EngineDep`` to get it, and guarded routers declare
``require_access``: open while no API key exists; afterwards a Bearer key, or — for the chat
page's own requests only — a same-origin page session.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from rag.engine import Engine
from rag.errors import RagError
from rag.keys import KeyStore, Sessions
from rag.settings import Settings

log = logging.getLogger(__name__)
SESSION_COOKIE = "pqa_session"
HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": "5"}}


class NotReady(RagError):
    """The engine is still loading, or failed to load."""

    status = 503


class Unauthorized(RagError):
    """API keys exist and the request carries neither a valid key nor a page session."""

    status = 401


class Runtime:
    """Holds the engine once it is loaded, and how loading went."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings, self.engine = settings, engine
        self.keys, self.sessions = KeyStore(settings.state_dir), Sessions(settings.state_dir)
        self.error: str | None = None
        self.started = time.monotonic()
        self.ready_after: float | None = 0.0 if engine else None

    def load(self) -> None:
        """Run in the loader thread; any failure is kept and reported, never left hanging."""
        try:
            self.engine = Engine.load(self.settings)
            self.ready_after = time.monotonic() - self.started
        except RagError as e:
            self.error = str(e)
        except Exception as e:  # the thread's last stop: say what broke instead of "loading"
            log.exception("loading the engine failed")
            self.error = f"{type(e).__name__}: {e}"

    def swap(self, engine: Engine) -> None:
        """Serve a newly built engine; requests already running finish on the old one."""
        self.engine, self.error = engine, None

    def require(self) -> Engine:
        if self.engine is not None:
            return self.engine
        if self.error:
            raise NotReady(f"the server could not load its index: {self.error}")
        raise NotReady("the index and model are still loading; try again in a few seconds")


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def get_engine(request: Request) -> Engine:
    return runtime_of(request).require()


EngineDep = Annotated[Engine, Depends(get_engine)]


def require_access(request: Request) -> None:
    """Open while no API key exists; then a Bearer key (or the page's session, see below)."""
    runtime = runtime_of(request)
    if not runtime.keys.keys():
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and runtime.keys.check(token.strip()):
        return
    raise Unauthorized("send Authorization: Bearer <key> (an administrator creates keys with "
                       "`rag keys create`)")  # fmt: skip


def require_access_or_page(request: Request) -> None:
    """Like ``require_access``, but the chat page's own same-origin requests, carrying the
    session it was given, are let through too."""
    runtime = runtime_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if runtime.sessions.valid(cookie, runtime.settings.page_password) and same_origin(
        request, runtime.settings.public_url
    ):
        return
    require_access(request)


def same_origin(request: Request, public_url: str) -> bool:
    """Was this sent by a page of this server (not by another site using the visitor's cookie)?
    Behind a reverse proxy ``Host`` may differ, so the public URL's origin counts too."""
    if request.headers.get("sec-fetch-site") == "same-origin":
        return True
    origin = request.headers.get("origin", "")
    if not origin:
        return False
    return origin.rstrip("/") == public_url.rstrip("/") or (
        origin.split("://", 1)[-1] == request.headers.get("host")
    )


def error(status: int, code: str, detail: str) -> JSONResponse:
    """The one error shape of the HTTP API."""
    return JSONResponse({"error": code, "detail": detail}, status_code=status,
                        headers=HEADERS.get(status))  # fmt: skip
