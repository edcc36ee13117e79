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
    for method, path, kwargs in [
        ("post", "/api/ask", {"json": ASK}),
        ("get", "/api/docs", {}),
        ("get", "/v1/models", {}),
        ("get", "/api/search", {"params": {"q": "医保"}}),
    ]:
        r = getattr(client, method)(path, **kwargs)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert "rag keys create" in r.json()["detail"]
        wrong = getattr(client, method)(
            path, headers={"Authorization": "Bearer pqa_wrong"}, **kwargs
        )
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


def test_keys_cli_and_open_bind_refusal(rag_here, tmp_path):
    env = {"RAG_STATE_DIR": str(tmp_path), "RAG_EMBEDDER": "hashing"}

    def rag(*args):
        return rag_here(*args, env=env)

    refused = rag("serve", "--host", "0.0.0.0", "--port", "9")
    assert refused.returncode == 1 and "--allow-open" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    created = rag("keys", "create", "--name", "企业微信")
    secret = created.stdout.strip()
    assert created.returncode == 0 and secret.startswith("pqa_")
    listed = rag("keys", "list")
    assert "企业微信" in listed.stdout and secret not in listed.stdout
    key_id = KeyStore(tmp_path).keys()[0].id
    assert rag("keys", "revoke", key_id).returncode == 0
    assert "no API keys" in rag("keys", "list").stdout


# ---- access holds at every request (issue 9) -------------------------------------------------

PUBLIC = {"host": "0.0.0.0"}


def test_revoking_the_last_key_never_opens_a_public_server(hashing_engine, tmp_path):
    store = KeyStore(tmp_path)
    key, secret = store.create("only")
    settings = hashing_engine.settings.with_(state_dir=tmp_path, **PUBLIC)
    with TestClient(create_app(settings, hashing_engine)) as client:
        auth = {"Authorization": f"Bearer {secret}"}
        assert client.post("/api/ask", json=ASK, headers=auth).status_code == 200
        store.revoke(key.id)
        for method, path in [
            ("post", "/api/ask"),
            ("get", "/api/docs"),
            ("get", "/v1/models"),
            ("post", STREAM),
        ]:
            r = client.post(path, json=ASK) if method == "post" else client.get(path)
            assert r.status_code == 503 and r.json()["error"] == "NoApiKey", path
            assert "rag keys create" in r.json()["detail"]
        page = client.get("/")
        assert page.status_code == 503 and "rag keys create" in page.text
        assert "pqa_session" not in page.cookies
        store.path.unlink()  # deleting the key file does not open it either
        assert client.post("/api/ask", json=ASK).status_code == 503
        assert client.get("/healthz").status_code == 200
        store.create("again")  # a new key closes the gap at once, without a restart
        assert client.post("/api/ask", json=ASK).status_code == 401
        assert client.post("/api/ask", json=ASK, headers=auth).status_code == 401


def test_allow_open_and_loopback_still_serve_without_keys(hashing_engine, tmp_path):
    for changes in ({"host": "0.0.0.0", "allow_open": True}, {"host": "::1"}, {}):
        settings = hashing_engine.settings.with_(state_dir=tmp_path, **changes)
        with TestClient(create_app(settings, hashing_engine)) as client:
            assert client.post("/api/ask", json=ASK).status_code == 200, changes
            assert client.get("/").status_code == 200


def test_a_request_arriving_on_a_public_address_counts_as_public(hashing_engine, tmp_path):
    """Started some other way (e.g. uvicorn --factory --host 0.0.0.0), the app still sees the
    address each request arrived on."""
    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with TestClient(app, base_url="http://10.1.2.3") as client:
        assert client.post("/api/ask", json=ASK).status_code == 503
    with TestClient(app, client=("203.0.113.9", 4000)) as client:  # e.g. through a tunnel
        assert client.post("/api/ask", json=ASK).status_code == 503
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("::1", 1)) as client:
        assert client.post("/api/ask", json=ASK).status_code == 200


def test_a_keyless_server_behind_a_local_proxy_is_not_open_to_the_internet(
    hashing_engine, tmp_path
):
    """Bound to 127.0.0.1 behind a reverse proxy that forwards the client's address."""
    import httpx

    from .conftest import running

    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with running(app) as url:
        proxied = httpx.post(
            url + "/api/ask", json=ASK, timeout=30, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert proxied.status_code == 503 and "rag keys create" in proxied.json()["detail"]
        assert httpx.post(url + "/api/ask", json=ASK, timeout=30).status_code == 200


def test_environment_can_allow_open(tmp_path):
    from rag.errors import BadSetting
    from rag.settings import Settings

    assert Settings.from_env({"RAG_ALLOW_OPEN": "0"}).allow_open is False
    assert Settings.from_env({"RAG_ALLOW_OPEN": "yes"}).allow_open is True
    with pytest.raises(BadSetting, match="RAG_ALLOW_OPEN"):
        Settings.from_env({"RAG_ALLOW_OPEN": "maybe"})


@pytest.fixture
def paced(hashing_engine, tmp_path):
    """A keyed server whose page sessions may ask 3 questions a minute, 5 per address."""
    _, secret = KeyStore(tmp_path).create("test")
    settings = hashing_engine.settings.with_(
        state_dir=tmp_path, page_session_rate=3, page_address_rate=5
    )
    return create_app(settings, hashing_engine), secret


def test_a_page_session_only_asks_questions(paced):
    app, secret = paced
    with TestClient(app) as client:
        client.get("/")
        assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 200
        for method, path in [
            ("get", "/api/search?q=医保"),
            ("get", "/api/docs"),
            ("get", "/api/docs/003"),
            ("post", "/api/ask"),
            ("get", "/v1/models"),
            ("post", "/v1/chat/completions"),
        ]:
            r = getattr(client, method)(path, headers=SAME_ORIGIN)
            assert r.status_code == 401, path
        # a wrong key is not rescued by the session either
        wrong = client.post(STREAM, json=ASK, headers={**SAME_ORIGIN, "Authorization": "Bearer x"})
        assert wrong.status_code == 401


def test_page_sessions_are_rate_limited_per_session_and_address(paced):
    app, secret = paced
    with TestClient(app) as first, TestClient(app) as second:
        first.get("/")
        codes = [first.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = first.post(STREAM, json=ASK, headers=SAME_ORIGIN)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 20
        assert r.json()["error"] == "TooManyRequests"
        second.get("/")  # a fresh session from the same address gets what the address has left
        assert first.cookies["pqa_session"] != second.cookies["pqa_session"]
        codes = [second.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        auth = {"Authorization": f"Bearer {secret}"}  # keys are not paced like the page
        assert second.post(STREAM, json=ASK, headers=auth).status_code == 200
    with TestClient(app, client=("192.0.2.7", 1234)) as elsewhere:
        elsewhere.get("/")
        assert elsewhere.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 200


def test_login_failures_are_limited(hashing_engine, tmp_path):
    KeyStore(tmp_path).create("test")
    settings = hashing_engine.settings.with_(state_dir=tmp_path, page_password="政策2023")
    app = create_app(settings, hashing_engine)
    right = b"password=%E6%94%BF%E7%AD%962023&next=/"
    with TestClient(app, follow_redirects=False) as client:
        codes = [
            client.post("/login", content=b"password=guess", headers=FORM).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        locked = client.post("/login", content=right, headers=FORM)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
        assert "pqa_session" not in locked.cookies and "秒后再试" in locked.text
    with TestClient(app, follow_redirects=False, client=("192.0.2.8", 1)) as other:
        assert other.post("/login", content=right, headers=FORM).status_code == 303


def test_login_failures_are_limited_over_all_addresses(hashing_engine, tmp_path, monkeypatch):
    monkeypatch.setattr("rag.deps.LOGIN_FAILURES_IN_ALL", 7)
    KeyStore(tmp_path).create("test")
    settings = hashing_engine.settings.with_(state_dir=tmp_path, page_password="secret")
    app = create_app(settings, hashing_engine)
    codes = []
    for n in range(9):  # two failures each from many addresses
        with TestClient(app, client=(f"192.0.2.{n}", 1)) as c:
            codes += [
                c.post("/login", content=b"password=x", headers=FORM).status_code for _ in range(2)
            ]
    assert codes[:7] == [401] * 7 and set(codes[7:]) == {429}


HOSTILE_COOKIES = [
    "9" * 5000,
    "²" * 10,
    "1" * 13 + "." + "0" * 16 + "." + "a" * 64,
    "1.2.3",
    "",
    ".",
    "..",
    "99999999999." + "0" * 16 + "." + "A" * 64,
    "99999999999." + "0" * 16 + "." + "a" * 63,
    "99999999999." + "0" * 16 + "." + "a" * 65,
    "99999999999." + "g" * 16 + "." + "a" * 64,
    "-1." + "0" * 16 + "." + "a" * 64,
    " 99999999999." + "0" * 16 + "." + "a" * 64,
    "١٢٣." + "0" * 16 + "." + "a" * 64,
    "99999999999.\u202e" + "0" * 15 + "." + "a" * 64,
    "x" * 100_000,
    "99999999999." + "0" * 16 + "." + "a" * 64 + "\n",
]


@pytest.mark.parametrize("cookie", HOSTILE_COOKIES, ids=range(len(HOSTILE_COOKIES)))
def test_hostile_session_cookies_are_refused_not_crashed(tmp_path, cookie):
    assert Sessions(tmp_path).valid(cookie) is False


def test_hostile_session_cookie_over_http(keyed):
    client, _ = keyed
    client.cookies.set("pqa_session", "9" * 5000)
    assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 401
    page = client.get("/")  # the page hands out a fresh session instead
    assert page.status_code == 200 and page.cookies["pqa_session"] != "9" * 5000


def _forged(expiry: str, *rest: str) -> str:
    """A cookie signed with an empty key, in the old (expiry.sig) or new (expiry.nonce.sig) form."""
    import hashlib
    import hmac

    message = ":".join([expiry, *rest, hashlib.sha256(b"").hexdigest()]).encode()
    return ".".join([expiry, *rest, hmac.new(b"", message, hashlib.sha256).hexdigest()])


def test_a_short_session_secret_is_replaced_not_used(tmp_path):
    (tmp_path / "session.key").write_bytes(b"")  # what a full disk left behind
    sessions = Sessions(tmp_path)
    for forged in (_forged("99999999999"), _forged("99999999999", "0" * 16)):
        assert not sessions.valid(forged)
    assert len((tmp_path / "session.key").read_bytes()) == 32
    assert sessions.valid(sessions.issue())
    assert Sessions(tmp_path).valid(sessions.issue())  # the new secret is the one on disk
    assert stat.S_IMODE(os.stat(tmp_path / "session.key").st_mode) == 0o600


def test_an_unwritable_session_secret_fails_closed(hashing_engine, tmp_path, monkeypatch):
    from rag.errors import NoSessionSecret, StateNotWritable

    def disk_full(path, data):
        raise StateNotWritable(f"cannot write {path}: No space left on device; free disk space")

    KeyStore(tmp_path).create("test")
    monkeypatch.setattr("rag.keys.write_private", disk_full)
    (tmp_path / "session.key").write_bytes(b"")
    sessions = Sessions(tmp_path)
    assert not sessions.valid(_forged("99999999999", "0" * 16))
    with pytest.raises(NoSessionSecret, match="No space left"):
        sessions.issue()
    app = create_app(hashing_engine.settings.with_(state_dir=tmp_path), hashing_engine)
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 503 and "No space left" in page.text
        assert "pqa_session" not in page.cookies
        client.cookies.set("pqa_session", _forged("99999999999", "0" * 16))
        assert client.post(STREAM, json=ASK, headers=SAME_ORIGIN).status_code == 401
    monkeypatch.undo()  # space again: the next request recreates the secret, no restart needed
    assert sessions.valid(sessions.issue())


def test_write_private_says_what_to_do_when_it_cannot_write(tmp_path):
    from rag.errors import StateNotWritable
    from rag.keys import write_private

    (tmp_path / "a-file").write_text("not a folder")
    for target in (tmp_path / "a-file" / "keys.json", tmp_path / "a-file" / "x" / "keys.json"):
        with pytest.raises(StateNotWritable, match="RAG_STATE_DIR"):
            write_private(target, b"{}")
    write_private(tmp_path / "new" / "keys.json", b"{}")
    assert (tmp_path / "new" / "keys.json").read_bytes() == b"{}"
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["keys.json"]


def _full_disk():
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # every write to a file fails (EFBIG)


def test_keys_create_on_a_full_disk_is_one_line(tmp_path):
    KeyStore(tmp_path).create("before")
    before = (tmp_path / "keys.json").read_bytes()
    env = {**os.environ, "RAG_STATE_DIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    full = subprocess.run(
        [sys.executable, "-m", "rag", "keys", "create"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=_full_disk,
    )
    assert full.returncode == 1 and "Traceback" not in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1 and "RAG_STATE_DIR" in full.stderr
    assert not full.stdout.strip()  # no key printed that was never stored
    assert (tmp_path / "keys.json").read_bytes() == before  # the old keys survive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]  # no temporary left


def test_secret_on_a_full_disk_stays_refused(tmp_path):
    """The real thing, in a child process: writes fail, and nothing signs with a short key."""
    (tmp_path / "session.key").write_bytes(b"")
    code = (
        "import sys; from pathlib import Path; from rag.keys import Sessions; from rag.errors import NoSessionSecret\n"
        f"s = Sessions(Path({str(tmp_path)!r}))\n"
        f"assert not s.valid({_forged('99999999999', '0' * 16)!r})\n"
        "try:\n    s.issue()\nexcept NoSessionSecret as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=_full_disk,
    )
    assert run.returncode == 0, run.stderr
    assert "sessions are off" in run.stdout
    assert (tmp_path / "session.key").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.key"]


def test_throttle_refills_and_stays_bounded():
    from rag.throttle import Throttle

    now = [0.0]
    t = Throttle(6, max_keys=100, clock=lambda: now[0])  # one event per 10 s after the burst
    assert [t.take("a") for _ in range(6)] == [0.0] * 6
    assert t.take("a") == pytest.approx(10.0) and t.wait("a") == pytest.approx(10.0)
    now[0] = 5.0
    assert t.wait("a") == pytest.approx(5.0)
    now[0] = 10.0
    assert t.take("a") == 0.0 and t.take("a") > 0
    for n in range(1000):  # a flood of new keys
        t.take(f"flood{n}")
    assert len(t._buckets) <= 100


def test_security_doc_is_linked_and_names_real_settings():
    import re

    from rag.settings import describe

    from .conftest import REPO

    doc = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    assert "docs/security.md" in (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"RAG_[A-Z_]+", doc))
    assert {"RAG_PAGE_PASSWORD", "RAG_PAGE_SESSION_RATE", "RAG_ALLOW_OPEN"} <= named
    assert named <= {name for name, _, _ in describe()}
