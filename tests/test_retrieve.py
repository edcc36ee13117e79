from __future__ import annotations

import pytest

from rag.errors import BadQuestion
from rag.retrieve import Retriever


def test_hybrid_hits_carry_both_rankings(hashing_engine):
    hits = hashing_engine.retriever.search("区医保局 异地就医 结算", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].chunk.clause_path.endswith("16.医保跨省结算")
    assert hits[0].bm25_rank is not None and hits[0].dense_rank is not None
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_traditional_question_matches_simplified_text(hashing_engine):
    hits = hashing_engine.retriever.search("區醫保局 異地就醫", k=3, mode="bm25")
    assert hits[0].chunk.clause_path.endswith("16.医保跨省结算")


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_single_modes_report_only_their_own_scores(hashing_engine, mode):
    hits = hashing_engine.retriever.search("欠薪纠纷", k=3, mode=mode)
    assert hits
    for h in hits:
        own, other = (
            (h.bm25_score, h.dense_score) if mode == "bm25" else (h.dense_score, h.bm25_score)
        )
        assert own is not None and other is None


def test_doc_filter_keeps_only_those_documents(hashing_engine):
    doc_id = hashing_engine.index.tree("002").doc.doc_id
    for mode in ("hybrid", "bm25", "dense"):
        hits = hashing_engine.retriever.search("社区 治理", k=5, mode=mode, doc_ids=[doc_id])
        assert hits and {h.chunk.doc_id for h in hits} == {doc_id}


def test_unknown_mode_and_mismatched_model_are_refused(hashing_engine):
    with pytest.raises(BadQuestion, match="unknown search mode"):
        hashing_engine.retriever.search("医保", mode="magic")

    class Other:
        model_id = "other-model"

    with pytest.raises(ValueError, match="rag ingest"):
        Retriever(hashing_engine.index, Other())


def test_question_without_known_terms_still_gets_dense_hits(hashing_engine):
    assert hashing_engine.retriever.search("zzzz", k=3, mode="bm25") == []
    assert len(hashing_engine.retriever.search("zzzz", k=3)) == 3


def test_fused_top_keeps_each_lists_leader_and_the_order():
    from rag.retrieve import fused_top, reciprocal_rank_fusion

    bm25, dense = [9, 1, 2, 3], [1, 2, 3, 4]  # 9: BM25's first, unseen by dense search
    scores = reciprocal_rank_fusion([bm25, dense])
    plain = sorted(scores, key=lambda i: -scores[i])[:3]
    assert 9 not in plain  # plain RRF drops it
    kept = fused_top(scores, [bm25[0], dense[0]], 3)
    assert 9 in kept and 1 in kept and len(kept) == 3
    assert kept == sorted(kept, key=lambda i: -scores[i])
    assert fused_top(scores, [1], 3) == plain  # a leader already in is not duplicated
    assert fused_top(scores, [9, 4], 1) == [9]  # room for one: the first-listed leader


def test_hybrid_search_keeps_the_bm25_leader(hashing_engine, monkeypatch):
    r = hashing_engine.retriever
    n = len(hashing_engine.index.chunks)
    bm25 = {n - 1: 9.0, 0: 5.0, 1: 4.0, 2: 3.0}
    dense = {i: 1.0 - i / 100 for i in range(6)}
    monkeypatch.setattr(r, "_bm25", lambda query, allowed: bm25)
    monkeypatch.setattr(r, "_dense", lambda query, allowed, vector: dense)
    hits = r.search("anything", k=3)
    ids = [hashing_engine.index.chunks.index(h.chunk) for h in hits]
    assert n - 1 in ids and 0 in ids and len(ids) == 3
    assert [h.rank for h in hits] == [1, 2, 3]
