"""Bounded serving: body size and time, slow and idle connections, shedding, log storms.

Live-server tests run uvicorn on 127.0.0.1 with the same protocol and options as `rag serve`
(``rag.limits.uvicorn_options``), with short timeouts so they finish in seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import resource
import select
import socket
import threading
import time
from contextlib import ExitStack, closing

import httpx
import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from rag.limits import (
    QUEUE,
    BodyLimit,
    Gate,
    RepeatFilter,
    connection_cap,
    quiet_repeats,
    uvicorn_options,
)
from rag.server import SPARE_THREADS, create_app

from .conftest import running

QUESTION = {"question": "谁负责医保跨省结算？"}


def rss_mib() -> float:
    """This process's resident memory (psutil is not installed)."""
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 1024


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout`` passes)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not piece:
            break
        data += piece
    return data


ASK_HEAD = b"POST /api/ask HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


def exchange(base: str, data: bytes) -> bytes:
    """Send ``data`` on a new connection; what the server answers until it closes it."""
    with closing(socket.create_connection(("127.0.0.1", port_of(base)))) as s:
        s.sendall(data)
        return read_all(s)


@pytest.fixture
def live(hashing_engine):
    """A live server over the hashing index with short limits; yields (base URL, settings)."""
    settings = hashing_engine.settings.with_(head_timeout=0.3, body_timeout=0.3)
    app = create_app(settings, hashing_engine)
    with running(app, **uvicorn_options(settings)) as base:
        yield base, settings


def test_streamed_body_over_the_cap_is_refused_before_it_is_all_sent(live):
    base, settings = live
    total, sent = 32 * 2**20, 0

    def body():
        nonlocal sent
        chunk = b" " * 65536
        while sent < total:
            sent += len(chunk)
            yield chunk

    before = rss_mib()
    headers = {"Content-Type": "application/json"}  # no Content-Length: chunked
    r = httpx.post(f"{base}/api/ask", content=body(), headers=headers, timeout=20)
    assert r.status_code == 413 and r.json()["error"] == "BodyTooLarge"
    assert r.headers["connection"] == "close"
    assert sent < total / 2, f"the client got to send {sent} bytes"
    assert rss_mib() - before < 16, "the body was held in memory"
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200  # still serving


def test_declared_length_over_the_cap_is_refused_at_once(live):
    base, _ = live
    reply = exchange(base, ASK_HEAD + b"Content-Length: 300000000\r\n\r\n")  # and no body
    assert reply.startswith(b"HTTP/1.1 413") and b'"BodyTooLarge"' in reply


def test_a_larger_cap_can_be_given_to_a_path_prefix():
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    async def echo(scope, receive, send):
        body = await Request(scope, receive).body()
        await JSONResponse({"bytes": len(body)})(scope, receive, send)

    app = BodyLimit(echo, max_bytes=100, seconds=5, caps={"/upload/": 5000})
    c = TestClient(app)  # no lifespan: a bare ASGI app
    assert c.post("/upload/file", content=b"x" * 4000).json() == {"bytes": 4000}
    assert c.post("/upload/file", content=b"x" * 5001).status_code == 413
    assert c.post("/api/ask", content=b"x" * 101).status_code == 413
    chunked = c.post("/api/ask", content=iter([b"x" * 60, b"x" * 60]))  # no Content-Length
    assert chunked.status_code == 413 and chunked.json()["error"] == "BodyTooLarge"
    assert c.post("/api/ask", content=iter([b"x" * 50, b"x" * 50])).json() == {"bytes": 100}


def test_a_request_head_sent_too_slowly_is_closed(live):
    base, _ = live
    started = time.monotonic()
    with closing(socket.create_connection(("127.0.0.1", port_of(base)))) as s:
        for piece in (b"POST /api/ask HTTP/1.1\r\n", b"Host: t\r\n", b"X-Slow: 1\r\n"):
            s.sendall(piece)  # trickling bytes must not extend the deadline
            time.sleep(0.12)
        reply = read_all(s)
    assert reply.startswith(b"HTTP/1.1 408") and b"HeadTimeout" in reply
    assert time.monotonic() - started < 4


def test_a_connection_that_sends_nothing_is_closed(live):
    base, _ = live
    with closing(socket.create_connection(("127.0.0.1", port_of(base)))) as s:
        started = time.monotonic()
        assert read_all(s) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 4


def test_a_body_sent_too_slowly_gets_408(live):
    base, _ = live
    reply = exchange(base, ASK_HEAD + b'Content-Length: 100\r\n\r\n{"question"')
    assert reply.startswith(b"HTTP/1.1 408") and b'"BodyTimeout"' in reply


def test_keep_alive_then_a_slow_second_head_is_closed_too(live):
    base, _ = live
    with closing(socket.create_connection(("127.0.0.1", port_of(base)))) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        s.settimeout(5)
        first = s.recv(65536)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")  # the second request never completes
        replies = first + read_all(s)
    assert replies.startswith(b"HTTP/1.1 200") and replies.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 408" in replies and replies.endswith(b'did not arrive in time"}')


def test_idle_connections_do_not_stop_a_normal_request(live):
    base, _ = live
    with ExitStack() as stack:
        for _ in range(200):
            s = stack.enter_context(socket.create_connection(("127.0.0.1", port_of(base))))
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # half a head, then nothing
        r = httpx.post(f"{base}/api/ask", json=QUESTION, timeout=10)
    assert r.status_code == 200 and r.json()["found"]


def test_connections_over_the_cap_are_shed_cleanly(hashing_engine):
    settings = hashing_engine.settings.with_(max_connections=20, head_timeout=1.2)
    options = uvicorn_options(settings) | {"backlog": 128}  # the burst is accepted at once
    with running(create_app(settings, hashing_engine), **options) as base:
        with ExitStack() as stack:
            idle = [
                stack.enter_context(socket.create_connection(("127.0.0.1", port_of(base))))
                for _ in range(60)
            ]
            replies = dict.fromkeys(idle, b"")
            deadline = time.monotonic() + 1.0  # before the head timeout closes the first 20
            while time.monotonic() < deadline and sum(map(bool, replies.values())) < 40:
                readable, _, _ = select.select(idle, [], [], 0.05)
                for s in readable:
                    replies[s] += s.recv(65536)
            refused = [r for r in replies.values() if r]
            assert len(refused) >= 30  # at most 20 are kept
            assert all(
                r.startswith(b"HTTP/1.1 503")
                and b"TooManyConnections" in r
                and b"retry-after: 1" in r
                for r in refused
            )
            try:  # the cap is full: shed at once (or refused), never hung
                r = httpx.get(f"{base}/healthz", timeout=5)
                assert r.status_code == 503 and r.headers.get("retry-after")
            except httpx.TransportError:
                pass
            assert eventually_healthy(base, within=5)  # the idle ones closed by the head timeout


def eventually_healthy(base: str, within: float) -> bool:
    """Whether /healthz answers 200 before ``within`` seconds pass (asked every 50 ms)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


def test_huge_doc_ids_lists_are_refused_before_any_work(client_for):
    client, calls = client_for()
    many = client.post("/api/ask", json=QUESTION | {"doc_ids": ["003"] * 100_000})
    assert many.status_code == 422 and "doc_ids" in many.json()["detail"]
    long_id = client.post("/api/ask", json=QUESTION | {"doc_ids": ["0" * 201]})
    assert long_id.status_code == 422
    ten_mb = client.post("/api/ask", json=QUESTION | {"doc_ids": ["003"] * 2_000_000})
    assert ten_mb.status_code == 413 and ten_mb.json()["error"] == "BodyTooLarge"
    assert calls == []
    assert client.post("/api/ask", json=QUESTION | {"doc_ids": ["003"] * 50}).status_code == 200
    assert len(calls) == 1


@pytest.fixture
def client_for(hashing_engine, monkeypatch):
    """A TestClient over an engine whose ``ask`` calls are recorded."""
    calls: list[str] = []
    real_ask = hashing_engine.ask

    def ask(question, *args, **kwargs):
        calls.append(question)
        return real_ask(question, *args, **kwargs)

    monkeypatch.setattr(hashing_engine, "ask", ask)
    with ExitStack() as stack:

        def make(**changes):
            settings = hashing_engine.settings.with_(**changes)
            client = stack.enter_context(TestClient(create_app(settings, hashing_engine)))
            return client, calls

        yield make


@pytest.mark.parametrize(
    ("top_k", "status"), [(2.0, 200), (2, 200), (1.5, 422), ("2", 422), (True, 422), (21.0, 422)]
)
def test_top_k_accepts_integral_numbers_only(client_for, top_k, status):
    client, _ = client_for()
    r = client.post("/api/ask", json=QUESTION | {"top_k": top_k})
    assert r.status_code == status, r.text
    if status == 200:
        assert len(r.json()["citations"]) <= 2


def test_overload_is_shed_with_503_and_health_stays_fast(hashing_engine, monkeypatch):
    release, entered = threading.Event(), threading.Event()
    real_ask = hashing_engine.ask

    def slow_ask(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(hashing_engine, "ask", slow_ask)
    settings = hashing_engine.settings.with_(max_in_flight=1, queue_wait=0.2)
    with running(create_app(settings, hashing_engine), **uvicorn_options(settings)) as base:
        first: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: first.append(httpx.post(f"{base}/api/ask", json=QUESTION, timeout=15))
        )
        worker.start()
        assert entered.wait(5)
        shed = httpx.post(f"{base}/api/ask", json=QUESTION, timeout=5)
        assert shed.status_code == 503 and shed.json()["error"] == "Overloaded"
        assert shed.headers["retry-after"] == "1"
        shed_v1 = httpx.post(
            f"{base}/v1/chat/completions",
            timeout=5,
            json={"messages": [{"role": "user", "content": "医保"}]},
        )
        assert shed_v1.status_code == 503
        started = time.monotonic()
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{base}/api/docs", timeout=5).status_code == 200  # not an answer
        assert time.monotonic() - started < 3
        release.set()
        worker.join(15)
        assert first[0].status_code == 200
        assert httpx.post(f"{base}/api/ask", json=QUESTION, timeout=5).status_code == 200


def test_gate_hands_slots_over_in_order_and_bounds_waiters():
    async def scenario():
        gate = Gate(1)
        assert await gate.enter(0)
        assert not await gate.enter(0)  # no wait allowed: refused at once
        order: list[int] = []

        async def wait_then_record(n: int, wait: float):
            if await gate.enter(wait):
                order.append(n)
                gate.leave()
            else:
                order.append(-n)

        patient = [asyncio.create_task(wait_then_record(n, 5)) for n in range(1, QUEUE)]
        late = asyncio.create_task(wait_then_record(QUEUE, 0.05))
        while len(gate.waiters) < QUEUE:
            await asyncio.sleep(0)
        assert not await gate.enter(5)  # the queue is full: refused at once
        await late  # its wait runs out
        gate.leave()
        await asyncio.gather(*patient)
        return order, gate.busy

    order, busy = asyncio.run(scenario())
    assert order == [-QUEUE, *range(1, QUEUE)] and busy == 0


def test_a_flood_gets_fast_503s_and_the_admitted_wait_stays_bounded(hashing_engine, monkeypatch):
    """40 questions at once at a server that works 2 at a time, 0.1 s each: served in turn they
    would take 2 s; the admitted ones must finish within a small multiple of one answer, and
    the rest be told at once to come back later."""
    work, limit, wait, flood = 0.1, 2, 0.3, 40
    answering = threading.Semaphore(limit)  # the fake answer is slow, never more than the limit
    over: list[int] = []
    real_ask = hashing_engine.ask

    def slow_ask(*args, **kwargs):
        if not answering.acquire(blocking=False):
            over.append(1)
        time.sleep(work)  # the deliberate slowness of the work itself
        answering.release()
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(hashing_engine, "ask", slow_ask)
    settings = hashing_engine.settings.with_(max_in_flight=limit, queue_wait=wait)

    async def ask(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        r = await client.post("/api/ask", json=QUESTION)
        return r, time.perf_counter() - started

    async def flood_of(base: str) -> list[tuple[httpx.Response, float]]:
        limits = httpx.Limits(max_connections=flood)
        async with httpx.AsyncClient(base_url=base, timeout=15, limits=limits) as client:
            await asyncio.gather(*(client.get("/healthz") for _ in range(flood)))  # connect
            return await asyncio.gather(*(ask(client) for _ in range(flood)))

    with running(create_app(settings, hashing_engine), **uvicorn_options(settings)) as base:
        results = asyncio.run(flood_of(base))
    answered = [s for r, s in results if r.status_code == 200]
    shed = [(r, s) for r, s in results if r.status_code == 503]
    assert len(answered) + len(shed) == flood and not over
    assert limit <= len(answered) < flood // 2
    assert max(answered) < wait + 3 * work + 0.5  # in turn, the last would wait 2 s
    for r, seconds in shed:
        assert r.json()["error"] == "Overloaded" and r.headers["retry-after"] == "1"
        assert seconds < wait + 0.5


def test_gate_refuses_at_the_door_a_queue_it_cannot_serve_in_time():
    clock = [0.0]

    async def scenario():
        gate = Gate(2, clock=lambda: clock[0])
        assert await gate.enter(1) and await gate.enter(1)
        clock[0] = 0.4  # both slots held 0.4 s: two answers per 0.4 s from now on
        gate.leave()
        gate.leave()
        assert gate.hold_s == pytest.approx(0.4) and gate.busy == 0
        assert await gate.enter(1) and await gate.enter(1)
        assert gate.expected_wait(0) == pytest.approx(0.2)
        # 0.1 s of patience cannot outlast 0.2 s of queue: refused without waiting at all
        assert not await asyncio.wait_for(gate.enter(0.1), 0.05)
        assert not gate.waiters
        queued = asyncio.create_task(gate.enter(1))  # 1 s can: it waits for a slot
        while not gate.waiters:
            await asyncio.sleep(0)
        clock[0] = 0.6
        gate.leave()
        assert await queued and gate.busy == 2
        assert gate.hold_s == pytest.approx(0.9 * 0.4 + 0.1 * 0.2)

    asyncio.run(scenario())


def test_the_thread_pool_is_the_answer_slots_plus_a_few(hashing_engine):
    """Requests past the slots must not queue again, unseen, for a thread."""
    settings = hashing_engine.settings.with_(max_in_flight=3)
    with TestClient(create_app(settings, hashing_engine)) as client:
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 3 + SPARE_THREADS


def test_an_answer_takes_one_trip_to_the_thread_pool(client_for, monkeypatch):
    """Each trip waits for a thread and then for the event loop: under load that wait, not the
    work, is the latency; access checks and the response do not need one of their own."""
    client, _ = client_for()
    assert client.post("/api/ask", json=QUESTION).status_code == 200  # warm
    trips: list[object] = []
    real_run_sync = to_thread.run_sync

    async def counted(func, *args, **kwargs):
        trips.append(func)
        return await real_run_sync(func, *args, **kwargs)

    monkeypatch.setattr(to_thread, "run_sync", counted)
    r = client.post("/api/ask", json=QUESTION)
    assert r.status_code == 200 and r.json()["citations"]
    assert len(trips) == 1, trips


def test_gate_cancelled_waiter_gives_its_slot_back():
    async def scenario():
        gate = Gate(1)
        await gate.enter(0)
        waiter = asyncio.create_task(gate.enter(5))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        gate.leave()
        return gate.busy, len(gate.waiters)

    assert asyncio.run(scenario()) == (0, 0)


def test_repeat_filter_writes_a_repeated_line_once_per_interval():
    now = [0.0]
    rule = RepeatFilter(seconds=60, clock=lambda: now[0])
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    handler.addFilter(rule)
    logger = logging.getLogger("test_limits.storm")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for _ in range(10_000):
            logger.error("socket.accept() out of system resource: %s", "EMFILE")
        logger.error("another failure")
        now[0] = 61.0
        logger.error("socket.accept() out of system resource: %s", "EMFILE")
    finally:
        logger.removeHandler(handler)
    assert records == [
        "socket.accept() out of system resource: EMFILE",
        "another failure",
        "socket.accept() out of system resource: EMFILE (repeated 9999 more times)",
    ]


def test_quiet_repeats_covers_uvicorn_and_root_handlers():
    import uvicorn

    uvicorn.Config(app=None, log_level="warning")  # sets up uvicorn's logging as `rag serve` does
    rule = quiet_repeats()
    try:
        for name in ("", "uvicorn", "uvicorn.access"):
            assert all(rule in h.filters for h in logging.getLogger(name).handlers), name
        assert logging.getLogger("uvicorn").handlers and logging.getLogger().handlers
    finally:
        for name in ("", "uvicorn", "uvicorn.access"):
            for h in logging.getLogger(name).handlers:
                h.removeFilter(rule)


def test_connection_cap_stays_below_the_open_file_limit():
    from rag.limits import MAX_LINGERING

    cap = connection_cap(10**6, reserve=64)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 1 <= cap and (soft == resource.RLIM_INFINITY or 3 * cap + MAX_LINGERING + 64 <= soft)
    assert connection_cap(10) == 10


def test_openapi_documents_every_error_with_the_error_body(client_for):
    client, _ = client_for()
    schema = client.get("/openapi.json").json()
    error_body = schema["components"]["schemas"]["ErrorBody"]
    assert set(error_body["required"]) == {"error", "detail"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            wanted = {"503"} if path == "/healthz" else {"400", "401", "404", "413", "422", "503"}
            assert wanted <= codes, (method, path, codes)
            for code in (c for c in codes if not c.startswith("2")):
                content = op["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    stream = schema["paths"]["/api/ask/stream"]["post"]["responses"]["200"]["content"]
    assert set(stream) == {"text/event-stream"}
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(chat) == {"application/json", "text/event-stream"}
    # what is documented is what is sent
    invalid = client.post("/api/ask", json={"question": 42})
    assert invalid.status_code == 422 and set(invalid.json()) == {"error", "detail"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/ask", "POST"),
        ("delete", "/integrations/wecom", "GET, POST"),
        ("post", "/healthz", "GET"),
        ("post", "/static/app.css", "GET, HEAD"),
    ],
)
def test_405_says_which_methods_are_allowed(client_for, method, path, allowed):
    client, _ = client_for()
    r = client.request(method.upper(), path)
    assert r.status_code == 405 and r.headers["allow"] == allowed
    assert r.json()["error"] == "MethodNotAllowed"


def test_security_headers_on_every_response(client_for, hashing_engine):
    client, _ = client_for()
    doc = hashing_engine.index.tree("003").doc.doc_id
    for path in ("/", f"/docs/{doc}", "/healthz", "/static/app.css", "/no/such", "/api/docs"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp, "our pages must not need inline scripts"
    for path in ("/", f"/docs/{doc}", "/documents"):  # so the strict policy breaks nothing
        page = client.get(path).text
        assert re.findall(r"<script[^>]*>", page) == re.findall(r'<script src="/[^"]+">', page)
        assert not re.search(r"<[^>]+\son[a-z]+=", page), "inline event handler"
    swagger = client.get("/docs")
    assert "script-src 'self' 'unsafe-inline'" in swagger.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in swagger.headers["content-security-policy"]
    for url in ("/static-offline-docs/swagger-ui-bundle.js", "/openapi.json"):
        assert client.get(url).status_code == 200  # what the docs page loads is 'self'


def test_bench_load_prints_throughput_latency_errors_and_memory(hashing_settings, rag_here):
    env = {"RAG_INDEX_DIR": str(hashing_settings.index_dir)}
    args = "bench --load --requests 20 --concurrency 4 --seconds 20".split()
    result = rag_here(*args, env=env)  # the bench still serves from its own subprocess
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("load c=4"))
    numbers = dict(part.split("=", 1) for part in line.split() if "=" in part)
    assert int(numbers["n"]) == 20 and float(numbers["req/s"]) > 0
    assert 0 < float(numbers["p50_ms"]) <= float(numbers["p95_ms"]) <= float(numbers["p99_ms"])
    assert int(numbers["ok"]) + int(numbers["shed"]) + int(numbers["errors"]) == 20
    assert "VmRSS" in result.stdout and "VmHWM" in result.stdout
    assert json.loads(numbers["status"])  # e.g. {"200": 20}
