"""Library management: upload, delete and re-ingest in the background while answering."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from rag.embed import HashingEmbedder
from rag.engine import Engine
from rag.keys import KeyStore
from rag.server import create_app

from .conftest import DOC

NEW_DOC = """关于加强社区食堂管理的通知
一、工作要求
（一）明确责任。社区食堂的食品安全日常监管由区市场监管局负责。
（二）资金保障。每个社区食堂每年补助运营经费5万元。
"""


@pytest.fixture
def library(library_copy):
    """A server over a copy of two bundled documents (quick to rebuild), hashing embedder."""
    settings = library_copy(("003", "004"), max_upload_bytes=200_000)
    engine = Engine.load(settings, HashingEmbedder())
    with TestClient(create_app(settings, engine)) as client:
        yield client, settings


def wait_for_ingest(client, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/ingest").json()
        if status["state"] != "running":
            return status
        time.sleep(0.01)  # a status read costs a millisecond: poll often, finish early
    raise AssertionError("ingest did not finish")


def test_upload_is_ingested_in_the_background_and_answered(library):
    client, settings = library
    before = {d["id"] for d in client.get("/api/library").json()["documents"]}
    r = client.post("/api/docs", files=[("files", ("社区食堂通知.txt", NEW_DOC.encode()))])
    assert r.status_code == 202 and r.json()["saved"] == ["社区食堂通知.txt"]
    answers = []
    while client.get("/api/ingest").json()["state"] == "running":  # answers keep coming meanwhile
        answers.append(client.post("/api/ask", json={"question": "谁负责医保跨省结算？"}))
        time.sleep(0.01)  # and the ingest gets the CPU in between
    status = wait_for_ingest(client)
    assert status["state"] == "done" and "3 份文件" in status["message"], status
    assert all(a.status_code == 200 and a.json()["found"] for a in answers)
    listed = client.get("/api/library").json()["documents"]
    assert {d["id"] for d in listed} == before | {"社区食堂通知"}
    new = next(d for d in listed if d["id"] == "社区食堂通知")
    assert new["kind"] == "通知" and new["format"] == "text" and new["chunks"] >= 1
    answer = client.post("/api/ask", json={"question": "社区食堂的食品安全由谁负责监管？"}).json()
    assert answer["found"] and answer["answer"].startswith("区市场监管局")


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("x.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, 400, "save as .docx"),
        ("x.exe", b"MZ\x90\x00", 400, "not a supported document"),
        ("empty.txt", b"", 400, "empty"),
        ("big.txt", "很长的文字。".encode() * 20_000, 413, "RAG_MAX_UPLOAD_BYTES"),
        ("noext", b"text", 400, "extension"),
        (f"{DOC['003']}.md", "标题\n正文。".encode(), 409, "same document id"),
    ],
)
def test_a_bad_upload_changes_nothing(library, name, content, status, words):
    client, settings = library
    files = sorted(p.name for p in settings.corpus_dir.iterdir())
    r = client.post("/api/docs", files=[("files", (name, content))])
    assert r.status_code == status and words in r.json()["detail"]
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == files
    assert client.get("/api/ingest").json()["state"] == "idle"


def test_one_bad_file_in_an_upload_stops_all_of_it(library):
    client, settings = library
    files = [("files", ("ok.txt", NEW_DOC.encode())), ("files", ("bad.txt", b"\x00\x01binary"))]
    r = client.post("/api/docs", files=files)
    assert r.status_code == 400 and "bad.txt" in r.json()["detail"]
    assert not (settings.corpus_dir / "ok.txt").exists()


def test_upload_names_cannot_leave_the_library(library):
    client, settings = library
    r = client.post("/api/docs", files=[("files", ("../../escape.txt", NEW_DOC.encode()))])
    assert r.status_code == 202 and r.json()["saved"] == ["escape.txt"]
    assert (settings.corpus_dir / "escape.txt").is_file()
    assert not (settings.corpus_dir.parent.parent / "escape.txt").exists()
    wait_for_ingest(client)


def test_delete_moves_the_file_to_the_trash_and_reingests(library):
    client, settings = library
    doc = client.get("/api/library").json()["documents"][0]
    r = client.delete(f"/api/docs/{doc['id']}")
    assert r.status_code == 202
    assert wait_for_ingest(client)["state"] == "done"
    assert doc["id"] not in {d["id"] for d in client.get("/api/library").json()["documents"]}
    trashed = [p.name.endswith(doc["source"]) for p in (settings.state_dir / "trash").iterdir()]
    assert trashed == [True]
    assert client.delete("/api/docs/nope").status_code == 404


def test_library_routes_need_an_admin_key_once_keys_exist(library):
    client, settings = library
    store = KeyStore(settings.state_dir)
    _, user = store.create("staff")
    _, admin = store.create("maintainer", admin=True)
    assert client.get("/api/library").status_code == 401
    r = client.get("/api/library", headers={"Authorization": f"Bearer {user}"})
    assert r.status_code == 403 and "--admin" in r.json()["detail"]
    r = client.get("/api/library", headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 200
    r = client.post("/api/ingest", headers={"Authorization": f"Bearer {user}"})
    assert r.status_code == 403
    page = client.get("/admin")  # the page holds no data; its script asks for the key
    assert page.status_code == 200 and "管理员密钥" in page.text
