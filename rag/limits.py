"""What one client may cost the server: body size, read time, connections, answers at once.

Every bound is checked before any expensive work, and every refusal is cheap:

- ``BodyLimit`` (ASGI middleware): a body over the cap gets 413 at once when Content-Length says
  so, otherwise as soon as the streamed bytes pass the cap; a body that does not arrive within
  ``body_timeout`` gets 408. Routes that take larger bodies (uploads) get their own cap by path
  prefix (``caps``). Both answers close the connection, so the rest of the body is never read.
- ``Shedding`` (ASGI middleware): a bounded number of answer requests in flight, plus a short
  bounded wait for a slot; a request the slots cannot serve within that wait gets 503 with
  ``Retry-After`` at once, so latency stays bounded under overload. ``/healthz`` and the pages
  are not counted. (The app's thread pool is sized to the slots, so admitted requests do not
  queue again for a thread: ``rag.server``.)
- ``BoundedH11Protocol`` (uvicorn protocol): a connection must send its request head within
  ``head_timeout`` seconds (uvicorn has no such timeout), and connections beyond the cap are
  answered 503 and closed at once instead of eating file descriptors.
- ``RepeatFilter`` (logging): an identical log line is written once per interval, with a count
  of how often it was suppressed, so a failure storm cannot fill the disk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from rag.deps import error_response
from rag.errors import (
    BodyTimeout,
    BodyTooLarge,
    HeadTimeout,
    Overloaded,
    RagError,
    TooManyConnections,
)
from rag.settings import Settings

ANSWER_ROUTES = ("/api/ask", "/api/search", "/v1/chat/", "/integrations/")


def content_length(value: str | None) -> int | None:
    """Content-Length as an int, bounded before conversion; None if absent or not a number.

    >>> content_length("1024"), content_length("9" * 400), content_length("-1")
    (1024, 1000000000000000000, None)
    """
    if value is None or not (value.strip().isascii() and value.strip().isdigit()):
        return None
    digits = value.strip().lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else 10**18  # beyond any cap; no huge int parse


def cap_for(path: str, default: int, caps: Mapping[str, int]) -> int:
    """The body cap of the longest matching path prefix in ``caps``, else ``default``.

    >>> cap_for("/api/library/upload", 100, {"/api/library/": 5000}), cap_for("/api/ask", 100, {})
    (5000, 100)
    """
    matches = [prefix for prefix in caps if path.startswith(prefix)]
    return caps[max(matches, key=len)] if matches else default


def time_for(cap: int, default_cap: int, seconds: float) -> float:
    """Seconds a body may take: ``seconds`` for the default cap, and as much more for a larger
    cap (an upload) as keeps the same slowest accepted rate.

    >>> time_for(1_000_000, 1_000_000, 30), time_for(50_000_000, 1_000_000, 30)
    (30, 1500.0)
    """
    return seconds if cap <= default_cap else seconds * cap / default_cap


async def _reply(send: Send, scope: Scope, refusal: RagError, close: bool = False) -> None:
    """Answer ``refusal`` from a middleware (the app's error handler is further in)."""
    response = error_response(refusal)
    if close:
        response.headers.update(CLOSE)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class BodyLimit:
    """413 for a body over the cap, 408 for one that does not arrive in time (see module doc)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, seconds: float, caps: Mapping[str, int] | None = None
    ):
        self.app, self.max_bytes, self.seconds = app, max_bytes, seconds
        self.caps = dict(caps or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = cap_for(scope["path"], self.max_bytes, self.caps)
        headers = {k.lower(): v for k, v in scope["headers"]}
        length = content_length(headers.get(b"content-length", b"").decode("latin-1") or None)
        if length is not None and length > cap:
            return await _reply(send, scope, BodyTooLarge(_too_large(cap)), close=True)
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        state = _BodyState(has_body=chunked or bool(length))
        loop = asyncio.get_running_loop()
        seconds = time_for(cap, self.max_bytes, self.seconds)
        deadline = loop.time() + seconds

        async def limited_receive() -> Message:
            if state.refusal:
                raise state.refusal
            if state.done:  # e.g. waiting for a disconnect while streaming: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                late = f"the request body did not arrive within {seconds:g} s; send it in one go"
                raise state.refuse(BodyTimeout(late)) from None
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                if state.received > cap:
                    raise state.refuse(BodyTooLarge(_too_large(cap)))
                state.done = not message.get("more_body", False)
            else:
                state.done = True
            return message

        async def guarded_send(message: Message) -> None:
            if state.refusal and not state.started:
                return  # the app's own answer to the failed read is replaced by ours
            if message["type"] == "http.response.start":
                state.started = True
                if state.has_body and not state.done:  # never read the unread rest
                    message = {**message, "headers": [*message.get("headers", []), CLOSE_RAW]}
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state.refusal or state.started:
                raise
        if state.refusal and not state.started:
            await _reply(send, scope, state.refusal, close=True)


class _BodyState:
    def __init__(self, has_body: bool):
        self.has_body, self.received, self.done, self.started = has_body, 0, False, False
        self.refusal: RagError | None = None

    def refuse(self, refusal: RagError) -> RagError:
        """Keep the first refusal (the one the client is answered with) and return it."""
        self.refusal = self.refusal or refusal
        return self.refusal


CLOSE = {"Connection": "close"}
CLOSE_RAW = (b"connection", b"close")


def _too_large(cap: int) -> str:
    return (
        f"the request body is over {cap:,} bytes (RAG_MAX_BODY_BYTES; uploads: "
        "RAG_MAX_UPLOAD_BYTES); send a smaller one"
    )


QUEUE = 4  # times the slots that may wait, at most: the bound before slot times are known


class Gate:
    """At most ``limit`` holders at once; a bounded queue waits for a slot, each for a bounded time.

    Slots are handed to waiters first come, first served. A newcomer is refused at the door (no
    waiting at all) when the queue ahead of it is longer than what the slots can serve within
    its wait, judged by how long slots were held lately: waiting the whole wait and then being
    refused helps no one, and admitted requests never queue longer than the wait. Futures are
    made on the running loop at each wait, so one gate serves any event loop (tests run several).
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.perf_counter):
        self.limit, self.busy, self.clock = max(1, limit), 0, clock
        self.waiters: deque[asyncio.Future] = deque()
        self.held: deque[float] = deque()  # when each current holder took its slot, in order
        self.hold_s = 0.0  # moving average of how long a slot is held (0 until one is released)

    def expected_wait(self, ahead: int) -> float:
        """Seconds until ``ahead`` queued requests and then one more have a slot.

        >>> gate = Gate(4); gate.hold_s = 0.1
        >>> round(gate.expected_wait(0), 3), round(gate.expected_wait(7), 3)
        (0.025, 0.2)
        """
        return (ahead + 1) * self.hold_s / self.limit

    async def enter(self, wait: float) -> bool:
        if self.busy < self.limit and not self.waiters:
            self.busy += 1
            self.held.append(self.clock())
            return True
        ahead = len(self.waiters)
        if wait <= 0 or ahead >= QUEUE * self.limit or self.expected_wait(ahead) > wait:
            return False
        slot = asyncio.get_running_loop().create_future()
        self.waiters.append(slot)
        try:
            await asyncio.wait_for(asyncio.shield(slot), wait)
            return True
        except TimeoutError:
            if slot.done() and not slot.cancelled():
                return True  # handed over just as the wait ran out
            slot.cancel()
            return False
        except BaseException:  # the client went away while waiting
            if slot.done() and not slot.cancelled():
                self.leave()
            slot.cancel()
            raise
        finally:
            if slot in self.waiters:
                self.waiters.remove(slot)

    def leave(self) -> None:
        now = self.clock()
        if self.held:  # slots are mostly released in the order taken; close enough for a mean
            held = now - self.held.popleft()
            self.hold_s = held if not self.hold_s else 0.9 * self.hold_s + 0.1 * held
        while self.waiters:
            slot = self.waiters.popleft()
            if not slot.done():
                slot.set_result(None)  # the slot passes on; ``busy`` is unchanged
                self.held.append(now)
                return
        self.busy -= 1


class Shedding:
    """Answer routes run at most ``gate.limit`` at once; others wait ``wait`` s, then get 503.

    The (already capped) body is read before a slot is taken, so slow senders cannot hold
    answer slots.
    """

    def __init__(
        self, app: ASGIApp, gate: Gate, wait: float, prefixes: tuple[str, ...] = ANSWER_ROUTES
    ):
        self.app, self.gate, self.wait, self.prefixes = app, gate, wait, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its request
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if not await self.gate.enter(self.wait):
            busy = "the server is busy answering other questions; try again in a moment"
            return await _reply(send, scope, Overloaded(busy))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        try:
            await self.app(scope, replay, send)
        finally:
            self.gate.leave()


def _raw_response(refusal: RagError) -> bytes:
    """``refusal`` as raw HTTP/1.1 bytes, for the protocol (there is no app to answer yet)."""
    response = error_response(refusal)
    head = [f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}"]
    head += [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in response.raw_headers]
    head.append("connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body


FULL = _raw_response(
    TooManyConnections("the server has too many open connections; try again shortly")
)
HEAD_TIMEOUT = _raw_response(HeadTimeout("the request headers did not arrive in time"))


REFUSED_LINGER = 1.0  # seconds a refused connection may take to read its 503
MAX_LINGERING = 32  # refused connections kept that long at once (the rest close at once)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head timeout and a hard connection cap.

    Use ``bounded_protocol(...)`` to get a subclass with the numbers set.
    """

    head_timeout: float = 10.0
    max_connections: int = 512
    lingering = 0  # refused connections still open (per server: each gets its own subclass)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_bytes, self.refused = 0, False
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse(transport)
            return
        self._arm_head_timer()

    def _refuse(self, transport: asyncio.Transport) -> None:
        """Answer 503, then half-close and drop what the client sends for a moment: closing
        outright while its request is unread would reset the connection and lose the answer.
        Only a few linger at once, so a flood cannot use up file descriptors this way."""
        self.refused = True
        self.connections.discard(self)  # not counted: the cap is about connections we serve
        transport.write(FULL)
        cls = type(self)
        if cls.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()
            return
        cls.lingering += 1
        transport.write_eof()

        def close() -> None:
            cls.lingering -= 1
            transport.close()

        self.loop.call_later(REFUSED_LINGER, close)

    def data_received(self, data: bytes) -> None:
        if self.refused or self.transport.is_closing():
            return
        self.head_bytes += len(data)
        super().data_received(data)
        if self._waiting_for_head():
            self._arm_head_timer()  # keeps a running timer: trickling bytes do not extend it
        else:
            self._disarm_head_timer()
            self.head_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        self.head_bytes = 0
        super().on_response_complete()

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self._waiting_for_head():
            return
        if self.head_bytes:  # part of a head arrived: say why; an idle connection just closes
            self.transport.write(HEAD_TIMEOUT)
        self.transport.close()


def bounded_protocol(head_timeout: float, max_connections: int) -> type[BoundedH11Protocol]:
    return type(
        "BoundedH11",
        (BoundedH11Protocol,),
        {"head_timeout": head_timeout, "max_connections": max_connections},
    )


@functools.cache
def environment_protocol() -> type[BoundedH11Protocol]:
    """``bounded_protocol`` with the numbers of ``Settings.from_env()`` (once per process)."""
    s = Settings.from_env()
    return bounded_protocol(s.head_timeout, connection_cap(s.max_connections))


def worker_protocol(**kwargs: Any) -> BoundedH11Protocol:
    """The protocol of ``rag serve --workers N`` processes, which uvicorn starts from a pickled
    config: a class made at run time cannot be pickled, so the workers import this by name
    (``rag.limits:worker_protocol``) and it reads the bounds from the environment."""
    return environment_protocol()(**kwargs)


def connection_cap(wanted: int, reserve: int = 64) -> int:
    """How many connections to keep open so descriptors cannot run out.

    Open connections, plus twice as many again accepted before any can be refused (asyncio
    accepts up to ``backlog`` at a time, and a flood fills a batch or two before the refusals
    close), plus refused ones lingering, plus ``reserve`` for the process's own files must fit
    under the open-file limit, which is raised toward the hard limit first.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 3 * wanted + MAX_LINGERING + reserve
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(hard, need)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, (soft - MAX_LINGERING - reserve) // 3))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that bound connections: head timeout, connection cap, backlog (the
    kernel's queue of connections not yet accepted, and asyncio's accept batch)."""
    cap = connection_cap(settings.max_connections)
    return {
        "http": bounded_protocol(settings.head_timeout, cap),
        # uvicorn answers plain-text 503 to every request once connections reach this; ours
        # refuses the connection over the cap instead (JSON), so uvicorn's is only a backstop
        "limit_concurrency": cap + 1,
        "backlog": min(2048, cap),
        "timeout_keep_alive": 5,
    }


class RepeatFilter(logging.Filter):
    """Pass a message once per ``seconds``; the next one after a quiet spell says how many
    were dropped. Identical means same logger, level and text (tracebacks are not compared).
    Put it on handlers: a record that meets it twice gets the same decision."""

    def __init__(
        self,
        seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        remember: int = 512,
    ):
        super().__init__()
        self.seconds, self.clock, self.remember = seconds, clock, remember
        self.seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = record.__dict__.get("_repeat_filter")
        if decided is not None:
            return decided
        record._repeat_filter = passed = self._first_in_interval(record)
        return passed

    def _first_in_interval(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        key = (record.name, record.levelno, text[:2000])
        now = self.clock()
        with self.lock:
            entry = self.seen.get(key)
            if entry is not None and now - entry[0] < self.seconds:
                entry[1] += 1
                return False
            dropped = int(entry[1]) if entry else 0
            self.seen[key] = [now, 0]
            self.seen.move_to_end(key)
            while len(self.seen) > self.remember:
                self.seen.popitem(last=False)
        if dropped:
            record.msg, record.args = f"{text} (repeated {dropped} more times)", None
        return True


def quiet_repeats(seconds: float = 60.0) -> RepeatFilter:
    """Put one ``RepeatFilter`` on the handlers of uvicorn's loggers and of the root logger
    (asyncio's accept errors, our own modules). ``rag serve`` calls it after uvicorn has set up
    its logging."""
    rule = RepeatFilter(seconds)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s:%(name)s: %(message)s")
    for name in ("", "uvicorn", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            for old in [f for f in handler.filters if isinstance(f, RepeatFilter)]:
                handler.removeFilter(old)
            handler.addFilter(rule)
    return rule
