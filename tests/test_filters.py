"""Metadata filters and the preference for documents a question names (hashing embedder)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.filters import Filters, kind_of
from rag.server import create_app

from .conftest import DOC


@pytest.fixture(scope="module")
def client(hashing_engine):
    with TestClient(create_app(hashing_engine.settings, hashing_engine)) as c:
        yield c


def test_kinds_of_the_bundled_titles(hashing_engine):
    kinds = {n: kind_of(hashing_engine.index.tree(n).doc.title) for n in ("000", "002", "003")}
    assert kinds == {"000": "实施意见", "002": "行动计划", "003": "通知"}


def test_filters_narrow_answers_to_matching_documents(hashing_engine):
    doc = hashing_engine.index.tree("003").doc
    by_issuer = hashing_engine.ask("谁负责医保跨省结算？", filters=Filters(issuer=doc.issuer))
    assert by_issuer.citations and {c.doc_id for c in by_issuer.citations} == {doc.doc_id}
    by_kind = hashing_engine.ask("社区治理由谁牵头？", filters=Filters(kinds=("行动计划",)))
    assert {c.doc_id for c in by_kind.citations} == {DOC["002"]}
    dated = hashing_engine.ask(
        "谁负责医保跨省结算？", filters=Filters(date_from="2023-06-01", date_to="2023-06-30")
    )
    assert {c.doc_id for c in dated.citations} <= {doc.doc_id}


def test_filters_that_match_nothing_say_so(hashing_engine):
    answer = hashing_engine.ask("谁负责医保跨省结算？", filters=Filters(date_to="1990-01-01"))
    assert (
        not answer.found and "没有符合筛选条件" in answer.answer and "1990-01-01" in answer.answer
    )


def test_filters_over_http(client, hashing_engine):
    doc = hashing_engine.index.tree("003").doc
    r = client.post(
        "/api/ask",
        json={"question": "谁负责医保跨省结算？", "kinds": ["通知"], "date_from": "2023-01-01"},
    )
    assert r.status_code == 200 and {c["doc_id"] for c in r.json()["citations"]} == {doc.doc_id}
    r = client.get("/api/search", params={"q": "社区治理", "kind": "行动计划", "k": 3})
    assert r.status_code == 200 and {h["doc_id"] for h in r.json()} == {DOC["002"]}
    r = client.post("/api/ask", json={"question": "社区治理", "date_from": "2023/01/01"})
    assert r.status_code == 422
    r = client.get("/api/search", params={"q": "社区治理", "date_to": "1990-01-01"})
    assert r.status_code == 200 and r.json() == []


def test_a_year_in_the_question_nudges_but_does_not_filter(hashing_engine):
    from rag.filters import preferred

    docs = [t.doc for t in hashing_engine.index.trees.values()]
    assert preferred("谁负责医保跨省结算？", docs) == set()
    picked = preferred("2023年谁负责医保跨省结算？", docs)
    assert hashing_engine.index.tree("003").doc.doc_id in picked and len(picked) < len(docs)


def test_chat_page_offers_the_filter_choices(client, hashing_engine):
    page = client.get("/").text
    assert 'id="filters"' in page and "<option>通知</option>" in page
    assert hashing_engine.index.tree("002").doc.doc_id in page
