"""API keys guard /api and /v1; the chat page keeps working through its own session."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from rag.errors import RagError
from rag.keys import KeyStore, Sessions
from rag.server import create_app

ASK = {"question": "谁负责医保跨省结算？"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def test_store_keeps_only_digests(tmp_path):
    store = KeyStore(tmp_path)
    key, secret = store.create("ops")
    assert secret.startswith("pqa_") and len(secret) > 40
    text = store.path.read_text(encoding="utf-8")
    assert secret not in text and key.sha256 in text
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.check(secret) == key and store.check(secret + "x") is None
    other, _ = store.create("wecom")
    assert [k.name for k in store.keys()] == ["ops", "wecom"]
    assert store.revoke(key.prefix) == key and store.keys() == [other]
    with pytest.raises(RagError, match="rag keys list"):
        store.revoke("nope")


def test_sessions_are_signed_and_expire(tmp_path):
    sessions = Sessions(tmp_path)
    token = sessions.issue(now=1000)
    assert sessions.valid(token, now=1001)
    assert not sessions.valid(token, now=1000 + 13 * 3600)
    assert not sessions.valid(token.replace(".", ".0"), now=1001)
    assert not sessions.valid("99999999999.forged", now=1001) and not sessions.valid(None)


@pytest.fixture
def keyed(hashing_engine, tmp_path):
    """A client whose server has one API key; yields (client, key)."""
    _, secret = KeyStore(tmp_path).create("test")
    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with TestClient(app) as client:
        yield client, secret


def test_open_without_keys(hashing_engine, tmp_path):
    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with TestClient(app) as client:
        assert client.post("/api/ask", json=ASK).status_code == 200


def test_keys_guard_api_and_openai_routes(keyed):
    client, secret = keyed
    for method, path, kwargs in [("post", "/api/ask", {"json": ASK}), ("get", "/api/docs", {}),
                                 ("get", "/v1/models", {}),
                                 ("get", "/api/search", {"params": {"q": "医保"}})]:  # fmt: skip
        r = getattr(client, method)(path, **kwargs)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert "rag keys create" in r.json()["detail"]
        wrong = getattr(client, method)(path, headers={"Authorization": "Bearer pqa_wrong"},
                                        **kwargs)  # fmt: skip
        assert wrong.status_code == 401
        ok = getattr(client, method)(path, headers={"Authorization": f"Bearer {secret}"}, **kwargs)
        assert ok.status_code == 200
    assert client.get("/healthz").status_code == 200  # health stays open


def test_revoked_key_stops_working_on_a_running_server(keyed, tmp_path):
    client, secret = keyed
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/ask", json=ASK, headers=auth).status_code == 200
    store = KeyStore(tmp_path)
    store.create("another")  # keep one key so the API stays guarded
    store.revoke(store.check(secret).id)
    assert client.post("/api/ask", json=ASK, headers=auth).status_code == 401


STREAM = "/api/ask/stream"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_chat_page_session_works_same_origin_only(keyed):
    client, _ = keyed
    assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 401  # no session yet
    page = client.get("/")
    assert page.status_code == 200 and "pqa_session" in page.cookies
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=lax" in page.headers["set-cookie"].lower()
    assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 200
    assert client.post(STREAM, json=ASK, headers={"Origin": "http://testserver"}).status_code == 200
    for hostile in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {}):
        assert client.post(STREAM, json=ASK, headers=hostile).status_code == 401
    # the session is for the page's own requests only: the rest of the API still needs a key
    assert client.post("/api/ask", json=ASK, headers=SAME_ORIGIN).status_code == 401
    assert client.get("/v1/models", headers=SAME_ORIGIN).status_code == 401


def test_page_password(hashing_engine, tmp_path):
    KeyStore(tmp_path).create("test")
    settings = hashing_engine.settings.with_(state_dir=tmp_path, page_password="政策2023")
    with TestClient(create_app(settings, hashing_engine), follow_redirects=False) as client:
        r = client.get("/docs/003?start=1&end=5")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 401
        bad = client.post("/login", content=b"password=wrong&next=/", headers=FORM)
        assert bad.status_code == 401 and "pqa_session" not in bad.cookies
        form = "password=%E6%94%BF%E7%AD%962023&next=//evil.example/"
        good = client.post("/login", content=form.encode(), headers=FORM)
        assert good.status_code == 303 and good.headers["location"] == "/"  # no open redirect
        assert client.get("/").status_code == 200
        assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 200


def test_changing_the_page_password_ends_sessions(hashing_engine, tmp_path):
    KeyStore(tmp_path).create("test")
    open_page = hashing_engine.settings.with_(state_dir=tmp_path)
    with TestClient(create_app(open_page, hashing_engine)) as client:
        client.get("/")
        cookie = client.cookies["pqa_session"]
    locked = open_page.with_(page_password="new password")
    with TestClient(create_app(locked, hashing_engine), follow_redirects=False) as client:
        client.cookies.set("pqa_session", cookie)
        assert client.get("/").status_code == 303
        assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 401


def test_chat_tools_use_their_own_signatures_not_keys(keyed):
    client, _ = keyed
    r = client.post("/integrations/dingtalk", json={})
    assert r.status_code == 404 and "not configured" in r.json()["detail"]


def rag(*args, state_dir):
    env = {**os.environ, "RAG_STATE_DIR": str(state_dir), "RAG_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip


def test_keys_cli_and_open_bind_refusal(tmp_path):
    refused = rag("serve", "--host", "0.0.0.0", "--port", "9", state_dir=tmp_path)
    assert refused.returncode == 1 and "--allow-open" in refused.stderr
    created = rag("keys", "create", "--name", "企业微信", state_dir=tmp_path)
    secret = created.stdout.strip()
    assert created.returncode == 0 and secret.startswith("pqa_")
    listed = rag("keys", "list", state_dir=tmp_path)
    assert "企业微信" in listed.stdout and secret not in listed.stdout
    key_id = KeyStore(tmp_path).keys()[0].id
    assert rag("keys", "revoke", key_id, state_dir=tmp_path).returncode == 0
    assert "no API keys" in rag("keys", "list", state_dir=tmp_path).stdout
