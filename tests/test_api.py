"""The HTTP API in process (TestClient), over the hashing-embedder index."""

from __future__ import annotations

import json
import re
import threading

import pytest
from fastapi.testclient import TestClient

from rag.engine import Engine
from rag.server import create_app
from rag.settings import Settings

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"


@pytest.fixture(scope="module")
def client(hashing_engine):
    with TestClient(create_app(hashing_engine.settings, hashing_engine)) as c:
        yield c


def test_health_and_ask(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ready"
    r = client.post("/api/ask", json={"question": "谁负责医保跨省结算？"})
    assert r.status_code == 200
    body = r.json()
    assert body["found"] and body["answer"].startswith("区医保局。")
    assert body["citations"][0]["clause_path"] == ITEM_16
    assert set(body) >= {"question", "answer", "found", "intent", "citations", "latency_ms"}


def test_ask_options(client, hashing_engine):
    doc = hashing_engine.index.tree("002").doc.doc_id
    r = client.post(
        "/api/ask", json={"question": "谁牵头社区治理？", "top_k": 2, "doc_ids": ["002"]}
    )
    assert r.status_code == 200
    assert {c["doc_id"] for c in r.json()["citations"]} == {doc}


def test_stream_sends_deltas_then_the_full_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": "谁负责医保跨省结算？"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = re.findall(r"event: (\w+)\ndata: (.*)\n\n", raw)
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1 and names[0] == "delta"
    text = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert text == json.loads(events[-1][1])["answer"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/ask", {"json": {"question": ""}}, 400, "BadQuestion"),
        ("post", "/api/ask", {"json": {"question": "   \n"}}, 400, "BadQuestion"),
        ("post", "/api/ask", {"json": {"question": "问" * 501}}, 400, "BadQuestion"),
        (
            "post",
            "/api/ask",
            {"content": b'{"question": ', "headers": {"Content-Type": "application/json"}},
            400,
            "MalformedJSON",
        ),
        (
            "post",
            "/api/ask",
            {"content": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/json"}},
            400,
            "MalformedJSON",
        ),
        ("post", "/api/ask", {"json": {"question": 42}}, 422, "InvalidRequest"),
        ("post", "/api/ask", {"json": {"question": "医保", "top_k": "5"}}, 422, "InvalidRequest"),
        ("post", "/api/ask", {"json": {"question": "医保", "top_k": 0}}, 422, "InvalidRequest"),
        (
            "post",
            "/api/ask",
            {"json": {"question": "医保", "doc_ids": "003"}},
            422,
            "InvalidRequest",
        ),
        (
            "post",
            "/api/ask",
            {"json": {"question": "医保", "colour": "red"}},
            422,
            "InvalidRequest",
        ),
        ("post", "/api/ask", {"json": ["谁负责"]}, 422, "InvalidRequest"),
        (
            "post",
            "/api/ask",
            {"json": {"question": "医保", "doc_ids": ["999"]}},
            404,
            "UnknownDocument",
        ),
        ("get", "/api/ask", {}, 405, "MethodNotAllowed"),
        ("get", "/api/search", {}, 422, "InvalidRequest"),
        ("get", "/api/search", {"params": {"q": " "}}, 400, "BadQuestion"),
        ("get", "/api/search", {"params": {"q": "医保", "k": 0}}, 422, "InvalidRequest"),
        ("get", "/api/docs/999", {}, 404, "UnknownDocument"),
        ("get", "/no/such/route", {}, 404, "NotFound"),
        ("post", "/v1/chat/completions", {"json": {"messages": []}}, 422, "InvalidRequest"),
        (
            "post",
            "/v1/chat/completions",
            {"json": {"messages": [{"role": "system", "content": "hi"}]}},
            400,
            "BadQuestion",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, method, path, kwargs, status, code):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["detail"]


def test_search_and_documents(client, hashing_engine):
    hits = client.get("/api/search", params={"q": "区医保局 异地就医", "k": 3}).json()
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["clause_path"] == ITEM_16
    docs = client.get("/api/docs").json()
    assert len(docs) == 5
    d003 = next(d for d in docs if d["id"].startswith("003"))
    assert (d003["issuer"], d003["date"]) == ("区发改局", "2023-06-30") and d003[
        "clause_count"
    ] > 60
    doc = client.get("/api/docs/003").json()
    clause = next(c for c in doc["clauses"] if c["path_text"] == ITEM_16)
    assert doc["text"][clause["start"] : clause["end"]].startswith("16.医保跨省结算。")
    assert doc["meta"]["索引号"] == "2950827/2023-56012" and doc["responsibilities"]


def test_openapi_docs_are_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    schema = client.get("/openapi.json").json()
    assert {
        "/api/ask",
        "/api/search",
        "/api/docs",
        "/api/docs/{doc_id}",
        "/v1/chat/completions",
        "/v1/models",
    } <= set(schema["paths"])
    js = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', page.text).group(1)
    assert client.get(js).status_code == 200


def test_chat_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "政策问答" in page.text
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith("/"), f"external resource {url}"
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200
    for name in ("chat.js", "app.css"):
        assert "http" not in client.get(f"/static/{name}").text


def test_document_viewer_highlights_the_cited_span(client, hashing_engine):
    cite = client.post("/api/ask", json={"question": "谁负责医保跨省结算？"}).json()["citations"][0]
    page = client.get(
        f"/docs/{cite['doc_id']}", params={"start": cite["start"], "end": cite["end"]}
    )
    assert page.status_code == 200
    marked = re.search(r'<mark id="hl">(.*?)</mark>', page.text).group(1)
    assert "推进江北黄州异地就医医保直接结算" in marked
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', page.text, re.S).group(0)
    assert "16.医保跨省结算" in crumbs and "(四)完善基础设施和基本公共服务" in crumbs
    assert "索引号" in page.text and "2950827/2023-56012" in page.text  # metadata
    assert client.get("/docs/999").status_code == 404
    assert "&lt;{百川" in client.get("/docs/004").text  # corpus text is escaped


def test_requests_during_loading_get_503(hashing_settings, monkeypatch):
    release = threading.Event()
    real_load = Engine.load

    def slow_load(settings, embedder=None):
        release.wait(10)
        return real_load(settings)

    monkeypatch.setattr(Engine, "load", staticmethod(slow_load))
    with TestClient(create_app(hashing_settings)) as c:
        loading = c.get("/healthz")
        assert loading.status_code == 503 and loading.json()["error"] == "Loading"
        busy = c.post("/api/ask", json={"question": "谁负责医保跨省结算？"})
        assert busy.status_code == 503 and "loading" in busy.json()["detail"]
        assert busy.headers["Retry-After"]
        assert c.get("/").status_code == 200  # the page itself shows a loading banner
        release.set()
        for _ in range(200):
            if c.get("/healthz").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert c.post("/api/ask", json={"question": "谁负责医保跨省结算？"}).status_code == 200


def test_missing_index_is_reported_not_crashed(tmp_path):
    settings = Settings(index_dir=tmp_path / "nothing", embedder="hashing")
    with TestClient(create_app(settings)) as c:
        for _ in range(100):
            health = c.get("/healthz")
            if health.json()["error"] == "LoadFailed":
                break
            threading.Event().wait(0.05)
        assert health.status_code == 503 and "rag ingest" in health.json()["detail"]
        r = c.post("/api/ask", json={"question": "谁负责医保跨省结算？"})
        assert r.status_code == 503 and "rag ingest" in r.json()["detail"]


def test_unexpected_load_failures_are_reported(hashing_settings, monkeypatch):
    def broken(settings, embedder=None):
        raise ValueError("unknown embedder 'xyz'")

    monkeypatch.setattr(Engine, "load", staticmethod(broken))
    with TestClient(create_app(hashing_settings)) as c:
        for _ in range(100):
            if c.get("/healthz").json()["error"] == "LoadFailed":
                break
            threading.Event().wait(0.05)
        health = c.get("/healthz").json()
        assert health["error"] == "LoadFailed" and "unknown embedder" in health["detail"]


def test_unreadable_key_file_fails_closed(hashing_engine, tmp_path):
    (tmp_path / "keys.json").write_text("{broken", encoding="utf-8")
    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with TestClient(app) as c:
        r = c.post("/api/ask", json={"question": "谁负责医保跨省结算？"})
        assert r.status_code == 503 and "keys.json" in r.json()["detail"]


@pytest.mark.parametrize("question", ["谁？", "请问一下", "？", "的", "🙂", "\x01"])
def test_a_question_with_no_searchable_word_gets_a_helpful_answer_on_every_route(client, question):
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 200 and r.json()["intent"] == "unclear"
    assert "请把问题说完整" in r.json()["answer"] and not r.json()["found"]
    with client.stream("POST", "/api/ask/stream", json={"question": question}) as r:
        assert r.status_code == 200 and "请把问题说完整" in "".join(r.iter_text())
    messages = [{"role": "user", "content": question}]
    r = client.post("/v1/chat/completions", json={"messages": messages})
    assert r.status_code == 200
    assert "请把问题说完整" in r.json()["choices"][0]["message"]["content"]
    r = client.get("/api/search", params={"q": question})
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize("question", ["¿", "？？", "*", "😀"])
def test_a_question_without_words_gets_a_refusal_not_a_500(client, question):
    r = client.post("/api/ask", json={"question": question, "doc_ids": []})
    assert r.status_code == 200, r.text
    assert r.json()["found"] is False
    assert client.get("/api/search", params={"q": question}).json() == []
