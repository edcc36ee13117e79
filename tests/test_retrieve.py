from __future__ import annotations

import functools
import random
from types import SimpleNamespace

import numpy as np
import pytest

from rag.embed import HashingEmbedder
from rag.errors import BadQuestion
from rag.retrieve import (
    Bm25Retriever,
    DenseRetriever,
    Hybrid,
    Retrievers,
    fused_top,
    reciprocal_rank_fusion,
)


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

    for make in (
        lambda: Retrievers(hashing_engine.index, Other()),
        lambda: DenseRetriever(hashing_engine.index, Other()),
    ):
        with pytest.raises(ValueError, match="rag ingest"):
            make()


def test_question_without_known_terms_still_gets_dense_hits(hashing_engine):
    assert hashing_engine.retriever.search("zzzz", k=3, mode="bm25") == []
    assert len(hashing_engine.retriever.search("zzzz", k=3)) == 3


def test_composed_retrievers_are_what_the_modes_name(hashing_engine):
    """Retrievers built by hand give the hits the engine's modes give; a hybrid of the two
    holds only chunks one of them ranked, and each one's first."""
    index, embedder = hashing_engine.index, HashingEmbedder()
    bm25, dense = Bm25Retriever(index), DenseRetriever(index, embedder)
    question = "区医保局 异地就医 结算"
    for retriever in (bm25, dense, Hybrid(bm25, dense)):
        mine = retriever.search(question, k=5)
        theirs = hashing_engine.retriever.search(question, k=5, mode=retriever.name)
        assert [(h.chunk, h.score) for h in mine] == [(h.chunk, h.score) for h in theirs]
    fused = Hybrid(bm25, dense).search(question, k=8)
    assert all(h.bm25_rank is not None or h.dense_rank is not None for h in fused)
    leaders = {bm25.search(question, k=1)[0].chunk, dense.search(question, k=1)[0].chunk}
    assert leaders <= {h.chunk for h in fused}
    other = SimpleNamespace(index=object(), name="bm25")
    with pytest.raises(ValueError, match="one index"):
        Hybrid(bm25, other)


def test_engine_asks_with_a_retriever_object_or_its_name(hashing_engine):
    question = "谁负责医保跨省结算？"
    by_name = hashing_engine.ask(question, mode="bm25")
    by_object = hashing_engine.ask(question, mode=hashing_engine.retriever["bm25"])
    assert by_name.answer == by_object.answer and by_name.citations == by_object.citations


def test_fused_top_keeps_each_lists_leader_and_the_order():
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
    retrievers = hashing_engine.retriever
    n = len(hashing_engine.index.chunks)
    bm25 = {n - 1: 9.0, 0: 5.0, 1: 4.0, 2: 3.0}
    dense = {i: 1.0 - i / 100 for i in range(6)}
    monkeypatch.setattr(retrievers["bm25"], "rank", lambda question, allowed, vector: bm25)
    monkeypatch.setattr(retrievers["dense"], "rank", lambda question, allowed, vector: dense)
    hits = retrievers.search("anything", k=3)
    ids = [hashing_engine.index.chunks.index(h.chunk) for h in hits]
    assert n - 1 in ids and 0 in ids and len(ids) == 3
    assert [h.rank for h in hits] == [1, 2, 3]


def test_chunk_mask_is_the_per_chunk_check(hashing_engine):
    index = hashing_engine.index
    ids = list(index.trees)
    for chosen in ([ids[0]], ids[1:3], [ids[-1], "no-such-document"], []):
        expected = [c.doc_id in chosen for c in index.chunks]
        assert index.chunk_mask(chosen).tolist() == expected


# --- dense search over a few thousand synthetic chunks: flat vs HNSW ------------------------

WORDS = [a + b for a in "医保社区财政教育交通养老住房就业环保农业" for b in "局委办厅站所处科"]


@functools.cache
def _synthetic(n_docs: int = 100, per_doc: int = 30, seed: int = 7):
    """``n_docs × per_doc`` chunk vectors of random word bags (hashing embedder), the chunks
    of one document contiguous as in a built index, and a few queries."""
    rng = random.Random(seed)
    texts = ["".join(rng.choices(WORDS, k=12)) for _ in range(n_docs * per_doc)]
    vectors = HashingEmbedder().embed_documents(texts)
    queries = HashingEmbedder().embed_documents(
        ["".join(rng.choices(WORDS, k=4)) for _ in range(20)]
    )
    return vectors, queries, np.repeat(np.arange(n_docs), per_doc)


@functools.cache  # built once for the tests below, which only search it
def _synthetic_dense(kind: str):
    return _dense(_synthetic()[0], kind)


def _dense(vectors: np.ndarray, kind: str):
    import faiss

    from rag.build import HNSW_NEIGHBOURS

    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    stub = SimpleNamespace(manifest={"model": {"id": HashingEmbedder.model_id}}, dense=index)
    return DenseRetriever(stub, HashingEmbedder(), pool=50)


def test_a_filtered_hnsw_search_finds_every_chunk_a_flat_search_finds():
    _, queries, documents = _synthetic()
    flat, hnsw = _synthetic_dense("flat"), _synthetic_dense("hnsw")
    for n, query in enumerate(queries):
        chosen = [n, n + 50]  # 60 chunks: more than the pool of 50
        allowed = np.isin(documents, chosen)
        exact = flat.rank("", allowed, query)
        approximate = hnsw.rank("", allowed, query)
        assert len(exact) == 50 and set(approximate) == set(exact)
        assert all(allowed[i] for i in approximate)
        assert np.allclose(list(approximate.values()), list(exact.values()), atol=1e-5)
        one = np.isin(documents, [n])  # fewer chunks than the pool: every one of them
        assert set(hnsw.rank("", one, query)) == set(np.flatnonzero(one))
    assert hnsw.rank("", np.zeros(len(documents), bool), queries[0]) == {}


def test_an_unfiltered_hnsw_search_recalls_what_flat_search_finds():
    _, queries, _ = _synthetic()
    flat, hnsw = _synthetic_dense("flat"), _synthetic_dense("hnsw")
    found = [len(set(hnsw.rank("", None, q)) & set(flat.rank("", None, q))) for q in queries]
    assert sum(found) / (50 * len(queries)) >= 0.95


def test_eval_runs_each_retriever_object_under_its_name(hashing_engine):
    from rag.evaluate import GoldItem, evaluate

    items = [GoldItem("q1", "fact", "谁负责医保跨省结算？", ("区医保局",), "异地就医", None)]
    retrievers = [hashing_engine.retriever["dense"], hashing_engine.retriever["bm25"]]
    seen = []

    def ask(question, retriever):
        seen.append(retriever)
        return hashing_engine.ask(question, mode=retriever)

    report, judged = evaluate(ask, items, retrievers)
    assert seen == retrievers and report["primary"] == "dense"
    assert list(report["modes"]) == ["dense", "bm25"] and len(judged) == 1
