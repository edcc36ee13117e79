"""What every HTTP route depends on: the loaded engine, access control, the error shape.

``Runtime`` holds the engine once the background loader has built it (and why loading failed,
if it did). Routes declare ``EngineDep`` to get it, and guarded routers declare
``require_access``, checked at every request (docs/security.md):

- no API key: open to this machine only (loopback bind, request and client) or with
  ``allow_open``; otherwise refused (503), so revoking the last key or deleting the key file
  never opens a public server, nor one behind a local reverse proxy;
- keys exist: a Bearer key for everything, or — for the chat page's question route only — a
  same-origin page session, rate-limited per session and per client address.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from rag.engine import Engine
from rag.errors import NoApiKey, NotReady, RagError, TooManyRequests, Unauthorized
from rag.keys import KeyStore, Sessions
from rag.settings import Settings
from rag.throttle import Throttle, retry_after

log = logging.getLogger(__name__)
SESSION_COOKIE = "pqa_session"
# What every response with that status carries: RFC 9110 wants a challenge on each 401, and a
# 503 says when to try again (an error that knows better sets ``retry_after``).
HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": "5"}}


LOGIN_FAILURES_PER_ADDRESS = 5  # a minute; then 429 until the bucket refills
LOGIN_FAILURES_IN_ALL = 60  # a minute, over every address (slows a distributed guesser)


class Runtime:
    """Holds the engine once it is loaded, how loading went, and the access state."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings, self.engine = settings, engine
        self.keys, self.sessions = KeyStore(settings.state_dir), Sessions(settings.state_dir)
        self.page_by_session = Throttle(settings.page_session_rate)
        self.page_by_address = Throttle(settings.page_address_rate)
        self.login_by_address = Throttle(LOGIN_FAILURES_PER_ADDRESS)
        self.login_in_all = Throttle(LOGIN_FAILURES_IN_ALL)
        self.error: str | None = None
        self.started = time.monotonic()
        self.ready_after: float | None = 0.0 if engine else None
        self.loaded_from = _folder(settings.index_dir) if engine else None
        self.checked, self.reloading = time.monotonic(), threading.Lock()

    def load(self) -> None:
        """Run in the loader thread; any failure is kept and reported, never left hanging."""
        try:
            folder = _folder(self.settings.index_dir)
            self.engine = Engine.load(self.settings)
            self.loaded_from = folder
            self.ready_after = time.monotonic() - self.started
        except RagError as e:
            self.error = str(e)
        except Exception as e:  # the thread's last stop: say what broke instead of "loading"
            log.exception("loading the engine failed")
            self.error = f"{type(e).__name__}: {e}"

    def swap(self, engine: Engine, folder: Path | None = None) -> None:
        """Serve a newly built engine; requests already running finish on the old one."""
        self.engine, self.error = engine, None
        self.loaded_from = folder or _folder(self.settings.index_dir)

    def follow_rebuilds(self, every: float = 1.0) -> None:
        """With several worker processes, an ingest run by one of them (or by ``rag ingest``)
        relinks the index under the others: at most once per ``every`` s, a worker looks where
        the index link points and, if it moved, loads the new index in the background and swaps
        it in (requests keep being answered from the old one meanwhile)."""
        now = time.monotonic()
        if self.settings.workers <= 1 or now - self.checked < every:
            return
        self.checked = now
        folder = _folder(self.settings.index_dir)
        if folder is None or folder == self.loaded_from or not self.reloading.acquire(False):
            return

        def reload() -> None:
            try:
                self.swap(Engine.load(self.settings), folder)
            except Exception:  # keep serving the index in hand; the next check tries again
                log.exception("reloading the rebuilt index failed")
            finally:
                self.reloading.release()

        threading.Thread(target=reload, name="engine-reloader", daemon=True).start()

    def require(self) -> Engine:
        if self.engine is not None:
            self.follow_rebuilds()
            return self.engine
        if self.error:
            raise NotReady(f"the server could not load its index: {self.error}")
        raise NotReady("the index and model are still loading; try again in a few seconds")


def _folder(index_dir: Path) -> Path | None:
    """The versioned folder the index link points to now (None when there is none)."""
    try:
        return index_dir.resolve(strict=True)
    except OSError:
        return None


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_engine(request: Request) -> Engine:
    """On the event loop, like the access checks below: they take microseconds, and as sync
    dependencies each would cost a trip to the thread pool (and a wait for a thread, under
    load) before the request's real work starts."""
    return runtime_of(request).require()


EngineDep = Annotated[Engine, Depends(get_engine)]


def is_loopback(host: str) -> bool:
    """Does ``host`` name this machine only? Anything unknown counts as public (fail closed).

    >>> [is_loopback(h) for h in ("127.0.0.2", "localhost", "::1", "::ffff:127.0.0.1")]
    [True, True, True, True]
    >>> [is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "myhost", "")]
    [False, False, False, False, False]
    """
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def refuse_open(settings: Settings, *seen: str | None) -> None:
    """With no API key, serve this machine only — ``settings.host`` and every address ``seen``
    (the request's server and client IPs, when known) loopback — unless ``allow_open``."""
    if settings.allow_open:
        return
    public = next((h for h in (settings.host, *seen) if h and not is_loopback(h)), None)
    if public is not None:
        raise NoApiKey(
            f"this server has no API key and {public} is not a loopback address, so it answers "
            "nobody: an administrator creates a key with `rag keys create` (then only key "
            "holders and chat-page visitors can ask), or restarts `rag serve` with --allow-open "
            "to serve everyone on purpose"
        )


def request_ips(request: Request) -> tuple[str | None, str | None]:
    """The address a request arrived on and the client's (behind a trusted proxy, uvicorn
    takes it from X-Forwarded-For), each only when it is an IP address."""
    server = (request.scope.get("server") or (None,))[0]
    return _ip(server), _ip(request.client.host if request.client else None)


def _ip(host: str | None) -> str | None:
    """``host`` when it is an IP address (not a test client's made-up name such as
    "testserver").

    >>> _ip("10.0.0.1"), _ip("testserver"), _ip(None)
    ('10.0.0.1', None, None)
    """
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def client_address(request: Request) -> str:
    """Who is asking, for rate limits (behind a proxy, uvicorn takes it from X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def open_or_keyed(request: Request) -> bool:
    """True when API keys exist; else checks the open rule (raising ``NoApiKey``)."""
    runtime = runtime_of(request)
    if runtime.keys.keys():
        return True
    refuse_open(runtime.settings, *request_ips(request))
    return False


async def require_access(request: Request) -> None:
    """Open while no API key exists (loopback or ``allow_open`` only); then a Bearer key."""
    check_access(request)


async def require_access_or_page(request: Request) -> None:
    """Like ``require_access``, but the chat page's own same-origin requests, carrying the
    session it was given, are let through too — at a human pace (429 beyond)."""
    check_access_or_page(request)


def check_access(request: Request) -> None:
    """``require_access``'s rule (a stat of the key file, a hash: cheap enough for the loop)."""
    if not open_or_keyed(request):
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and runtime_of(request).keys.check(token.strip()):
        return
    raise Unauthorized(
        "send Authorization: Bearer <key> (an administrator creates keys with "
        "`rag keys create`); on the chat page, reload it"
    )


def check_access_or_page(request: Request) -> None:
    """``require_access_or_page``'s rule."""
    runtime = runtime_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if "authorization" in request.headers or not cookie or not open_or_keyed(request):
        return check_access(request)
    valid = runtime.sessions.valid(cookie, runtime.settings.page_password)
    if not (valid and same_origin(request, runtime.settings.public_url)):
        return check_access(request)
    page_pace(runtime, cookie, client_address(request))


def page_pace(runtime: Runtime, session: str, address: str) -> None:
    """Count one chat-page question against its session and its address, or raise 429."""
    wait = max(runtime.page_by_session.wait(session), runtime.page_by_address.wait(address))
    if wait > 0:
        raise TooManyRequests(
            f"提问过于频繁，请 {retry_after(wait)} 秒后再试 (too many questions from this page "
            "session or address; an API key is not limited this way)",
            retry_after=wait,
        )
    runtime.page_by_session.take(session)
    runtime.page_by_address.take(address)


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


def error(status: int, code: str, detail: str, headers: dict | None = None) -> JSONResponse:
    """The one error shape of the HTTP API."""
    headers = {**HEADERS.get(status, {}), **(headers or {})}
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def error_response(exc: RagError) -> JSONResponse:
    """A ``RagError`` as that shape: its own status and code, and ``Retry-After`` when it
    knows when to come back. The app's handler and the middlewares (which answer before the
    app's handlers run) all use this."""
    wait = {"Retry-After": retry_after(exc.retry_after)} if exc.retry_after else None
    return error(exc.status, exc.code, str(exc), wait)
