"""The document viewer: page marks for paged sources, and the original file to download."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from rag.engine import Engine, ingest
from rag.server import create_app
from rag.types import ClauseTree, Document
from rag.web import _with_pages, paragraphs

from .conftest import CORPUS, DOC


def test_page_marks_where_a_new_page_starts():
    doc = Document("d", "标题", "标题\n第一段。\n第二段。", pages=((0, 1), (8, 2)))
    rows = _with_pages(ClauseTree(doc, (), ()), paragraphs(doc.text, None, None))
    assert [(offset, page) for offset, _, page in rows] == [(0, 1), (3, None), (8, 2)]
    plain = Document("d", "标题", "标题\n正文。")
    rows = _with_pages(ClauseTree(plain, (), ()), paragraphs(plain.text, 0, 1))
    assert [p for _, _, p in rows] == [None, None]


def test_original_file_downloads_only_while_it_is_the_indexed_file(tmp_path):
    corpus = tmp_path / "corpus"  # the one document the test downloads: a quick build
    corpus.mkdir()
    shutil.copy(CORPUS / f"{DOC['003']}.txt", corpus)
    from rag.embed import HashingEmbedder
    from rag.settings import Settings

    settings = Settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        embedder="hashing",
        state_dir=tmp_path / "state",
    )
    ingest(settings)
    engine = Engine.load(settings, HashingEmbedder())
    source = corpus / f"{DOC['003']}.txt"
    with TestClient(create_app(settings, engine)) as client:
        page = client.get(f"/docs/{DOC['003']}").text
        assert f"/docs/{DOC['003']}/file" in page
        r = client.get(f"/docs/{DOC['003']}/file")
        assert r.status_code == 200 and r.content == source.read_bytes()
        assert source.name in r.headers["content-disposition"]
        source.write_bytes(source.read_bytes() + "新增一行。".encode())
        r = client.get(f"/docs/{DOC['003']}/file")
        assert r.status_code == 404 and "rag ingest" in r.text
        assert client.get("/docs/nope/file").status_code == 404
