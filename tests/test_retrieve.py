from __future__ import annotations

import functools
import random
from collections import defaultdict
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
    score_fusion,
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
    bm25 = {9: 10.0, 1: 9.8, 2: 9.6, 3: 9.4, 5: 0.1}  # 9: BM25's first, unseen by dense search
    dense = {1: 0.9, 2: 0.88, 3: 0.86, 4: 0.5}
    scores = score_fusion([bm25, dense])
    plain = sorted(scores, key=lambda i: -scores[i])[:3]
    assert 9 not in plain  # plain fusion drops it
    kept = fused_top(scores, [9, 1], 3)
    assert 9 in kept and 1 in kept and len(kept) == 3
    assert kept == sorted(kept, key=lambda i: -scores[i])
    assert fused_top(scores, [1], 3) == plain  # a leader already in is not duplicated
    assert fused_top(scores, [9, 4], 1) == [9]  # room for one: the first-listed leader


def test_score_fusion_keeps_a_clear_lead_that_rank_fusion_would_tie():
    """BM25 puts chunk 1 far ahead; dense search barely prefers chunk 2. Reciprocal ranks would
    tie them (first + second each); scaled scores keep the clear lead ahead."""
    bm25, dense = {1: 20.0, 2: 2.0, 3: 1.0}, {2: 0.80, 1: 0.79, 3: 0.78}
    fused = score_fusion([bm25, dense])
    assert fused[1] > fused[2] > fused[3]
    assert score_fusion([{1: 2.0, 2: 1.9, 3: 1.0}, dense])[2] > fused[2]  # a near tie: 2 leads
    assert fused == score_fusion([{i: s * 7 + 3 for i, s in bm25.items()}, dense])  # scale-free
    assert max(fused.values()) <= 1.0 and min(fused.values()) >= 0.0
    assert score_fusion([{}, {}]) == {} and score_fusion([{4: 0.3}]) == {4: 1.0}


def test_preferred_documents_are_nudged_not_filtered(hashing_engine):
    """Naming a document's year or issuer lifts its chunks in the fusion; other documents'
    chunks stay in the results."""
    retrievers = hashing_engine.retriever
    question = "社区 治理 医保 结算"
    plain = retrievers.search(question, k=10)
    best = {}
    for h in plain:
        best.setdefault(h.chunk.doc_id, h.rank)
    target = max(best, key=best.get)  # the document whose best hit ranks lowest
    assert best[target] > 1
    nudged = retrievers.search(question, k=10, prefer={target})
    assert next(h.rank for h in nudged if h.chunk.doc_id == target) < best[target]
    assert any(h.chunk.doc_id != target for h in nudged)
    assert retrievers.search(question, k=10, prefer=set()) == plain


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


class _Stub(SimpleNamespace):
    """An index stand-in: ``inside`` maps a chunk row to the sentence rows it holds."""

    def chunk_sentences(self, rows):
        pairs = [(s, n) for n, r in enumerate(rows) for s in self.inside[int(r)]]
        return np.array([s for s, _ in pairs], np.int64), np.array([n for _, n in pairs], np.int64)


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
    stub = _Stub(  # no stored sentences: the 200 nearest chunks' own cosines are the ranking
        manifest={"model": {"id": HashingEmbedder.model_id}},
        dense=index,
        sentence_vectors=np.zeros((0, vectors.shape[1]), np.float16),
        inside=defaultdict(list),
    )
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


# --- a chunk is as close as its closest part (sentence vectors) -----------------------------


def _spans_inside(index, row: int) -> set[int]:
    """The brute-force answer: sentence rows whose span lies wholly inside chunk ``row``."""
    c = index.chunks[row]
    return {
        r
        for (doc, s, e), r in index.sentence_rows.items()
        if doc == c.doc_id and c.start <= s and e <= c.end
    }


def test_chunk_sentences_are_the_sentences_wholly_inside_each_chunk(hashing_engine):
    index = hashing_engine.index
    rows = np.array([0, len(index.chunks) - 1, *range(5, len(index.chunks), 7)])
    sentences, owner = index.chunk_sentences(rows)
    assert len(sentences) == len(owner) and len(sentences) > len(rows)
    for position, row in enumerate(rows):
        assert set(sentences[owner == position].tolist()) == _spans_inside(index, int(row))
    empty, none = index.chunk_sentences(np.array([], dtype=np.int64))
    assert len(empty) == len(none) == 0


def test_closest_part_takes_the_better_of_chunk_and_best_sentence():
    from rag.retrieve import closest_part

    axis = np.eye(3, dtype=np.float32)
    stub = _Stub(
        sentence_vectors=np.array([axis[1], axis[0] * 0.9 + axis[1] * 0.1, axis[2]], np.float16),
        inside={0: [0, 1], 1: [], 2: [2]},  # chunk 1 holds no whole sentence
    )
    raised = closest_part(stub, np.array([0, 1, 2]), np.array([0.3, 0.4, 0.5]), axis[0])
    assert raised[0] == pytest.approx(0.9, abs=1e-3)  # its second sentence is closer
    assert raised[1] == pytest.approx(0.4)  # nothing to raise it with: its own cosine
    assert raised[2] == pytest.approx(0.5)  # its sentence is farther than the chunk: kept


def test_a_question_close_to_one_sentence_finds_its_long_chunk(hashing_engine):
    """A question worded like one sentence of a long chunk ranks that chunk by the sentence's
    closeness; without sentences (``depth=0``) the chunk's blurred vector scores lower."""
    index, embedder = hashing_engine.index, HashingEmbedder()
    row = max(range(len(index.chunks)), key=lambda r: len(_spans_inside(index, r)))
    chunk = index.chunks[row]
    spans = sorted(
        (s, e) for (d, s, e), r in index.sentence_rows.items() if r in _spans_inside(index, row)
    )
    s, e = spans[len(spans) // 2]
    question = index.trees[chunk.doc_id].doc.text[s:e]
    vector = embedder.embed_query(question)
    sentence = float(index.sentence_vector(chunk.doc_id, s, e) @ vector)
    whole = DenseRetriever(index, embedder, depth=0).rank(question, None, vector)
    parts = DenseRetriever(index, embedder).rank(question, None, vector)
    assert whole[row] < sentence  # the passage as a whole is farther than its sentence
    assert parts[row] == pytest.approx(max(whole[row], sentence), abs=1e-6)
    assert next(iter(parts)) == row
    assert len(parts) == len(whole) == 50
    assert all(parts[i] >= whole.get(i, -1.0) - 1e-6 for i in parts)  # never lowered


def test_dense_search_embeds_the_folded_question(hashing_engine):
    """Traditional and simplified wordings of a question are one question to the e5 model,
    which does not fold by itself (passages and sentences are embedded folded at ingest)."""
    seen = []

    class Recording(HashingEmbedder):
        def embed_query(self, text):
            seen.append(text)
            return super().embed_query(text)

    dense = DenseRetriever(hashing_engine.index, Recording())
    dense.rank("區醫保局負責異地就醫結算嗎？", None)
    assert seen == ["区医保局负责异地就医结算吗?"]
