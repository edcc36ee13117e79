"""Stage 6: a question → ranked ``Hit``s, by retrievers composed as pyserini composes them.

``Bm25Retriever`` and ``DenseRetriever`` each rank chunks on their own; ``Hybrid(a, b)`` fuses
their scores. All three answer ``search(question, k, doc_ids=…) -> list[Hit]``, so evaluation
compares them in one run and the engine picks one by mode name (``Retrievers``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np

from rag.embed import Embedder
from rag.errors import BadQuestion
from rag.index import Index
from rag.types import Hit
from rag.zh import fold

MODES = ("hybrid", "bm25", "dense")
POOL = 50  # chunks each retriever ranks before fusion
SENTENCE_DEPTH = 200  # nearest chunks whose sentences the dense retriever compares as well
HNSW_SEARCH_DEPTH = 256  # efSearch: candidates an HNSW search keeps (recall, see DenseRetriever)

Ranking = dict[int, float]  # chunk row → score, best first


class Retriever(Protocol):
    name: str
    index: Index

    def search(
        self,
        question: str,
        k: int = 5,
        doc_ids: Collection[str] | None = None,
        vector: np.ndarray | None = None,
        prefer: Collection[str] = (),
    ) -> list[Hit]: ...


def score_fusion(rankings: Sequence[Ranking]) -> dict[int, float]:
    """Fuse rankings by their scores: each one's scores scaled to 0..1 within it (best 1, its
    last 0, a chunk it did not rank 0), then averaged, every ranking weighing the same.

    BM25 and cosine similarity live on unrelated scales, so each is scaled within the question.
    Unlike reciprocal rank fusion, a clear lead in one ranking stays a lead: the chunk BM25 scores
    far above the rest is not pulled level with the runner-up (Bruch et al., 2023, found such a
    convex combination better than RRF). Measured on the dev calibration split (real model, 278
    answerable questions), with the same rankings: the evidence chunk first 193 → 203 times, in
    the top five 258 → 260; on the bundled gold and holdout (114) first 101 → 106, top five
    113 → 113. Ties keep the order of the first ranking that holds them.

    >>> score_fusion([{7: 9.0, 3: 5.0, 4: 1.0}, {3: 0.9, 9: 0.7}])
    {7: 0.5, 3: 0.75, 4: 0.0, 9: 0.0}
    >>> score_fusion([{5: 2.0}, {}])  # a ranking of one: its chunk is its best
    {5: 0.5}
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        low, high = min(ranking.values(), default=0.0), max(ranking.values(), default=0.0)
        for item, score in ranking.items():
            scaled = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + scaled / len(rankings)
    return fused


def fused_top(scores: dict[int, float], leaders: Sequence[int], k: int) -> list[int]:
    """The ``k`` best ids by fused score, with every retriever's rank-1 id (``leaders``) kept.

    Fusion averages the rankings, so an id first in one list but absent from the other can fall
    below ids that both lists rank well; a retriever's best guess is too good a signal to drop.
    A leader outside the top k replaces the lowest fused id that is not itself a leader.

    >>> fused_top({1: 0.9, 2: 0.8, 3: 0.7, 4: 0.1}, leaders=[4, 1], k=3)
    [1, 2, 4]
    >>> fused_top({1: 0.9, 2: 0.8}, leaders=[], k=5)
    [1, 2]
    """
    ranked = sorted(scores, key=lambda i: -scores[i])
    top = ranked[:k]
    for leader in dict.fromkeys(leaders):
        if leader in top or leader not in scores or k <= 0:
            continue
        drop = next((i for i in reversed(top) if i not in leaders), None)
        if drop is None:
            continue
        top.remove(drop)
        top.append(leader)
    return sorted(top, key=lambda i: -scores[i])


class Ranker:
    """A retriever that ranks chunks on its own; its search is its ranking, cut at ``k``.
    (``prefer`` only nudges a fusion, see ``Hybrid``.)"""

    name: str
    index: Index

    def rank(
        self, question: str, allowed: np.ndarray | None, vector: np.ndarray | None = None
    ) -> Ranking:
        raise NotImplementedError

    def search(self, question, k=5, doc_ids=None, vector=None, prefer=()) -> list[Hit]:
        ranking = self.rank(question, allowed_chunks(self.index, doc_ids), vector)
        return _hits(self.index, _best(ranking, k), ranking, {self.name: ranking})


class Bm25Retriever(Ranker):
    """BM25 over jieba terms (bm25s); only chunks sharing a term with the question are hits."""

    name = "bm25"

    def __init__(self, index: Index, pool: int = POOL):
        self.index, self.pool = index, pool

    def rank(
        self, question: str, allowed: np.ndarray | None, vector: np.ndarray | None = None
    ) -> Ranking:
        """Chunk row → BM25 score for the best ``pool`` chunks sharing a term with the query."""
        terms = self.index.terms(question)
        if not terms:  # bm25s raises on an empty query; no term matches no chunk
            return {}
        scores = self.index.bm25.get_scores(terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[: self.pool]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}


class DenseRetriever(Ranker):
    """Cosine similarity of e5 vectors in FAISS; a chunk is as close as its closest part.

    A chunk's vector blurs what its sentences say, so a question that paraphrases one sentence
    of a long passage ("半夜能放鞭炮吗" for "夜间禁止燃放烟花爆竹") can sit far from the chunk yet
    close to the sentence. The ``depth`` nearest chunks are therefore scored by the larger of
    their own cosine and their best stored sentence's (``rag.index`` keeps one vector per
    sentence), and the best ``pool`` of them are the ranking. Only those few chunks' sentences
    are read, so the cost does not grow with the corpus. Measured on the dev calibration split
    (real model, 278 answerable questions; the vectors it reads are stored already): the evidence
    chunk first in the hybrid ranking (then fused by reciprocal ranks) 180 → 192 times, in the
    top five 251 → 258; a scan of every sentence found one more first place, a depth of 50 four
    fewer in the top five.

    A document filter is applied inside FAISS (an ``IDSelectorBitmap``) on exact inner products,
    also when the index is HNSW (its flat vector storage is searched), so a filtered search
    returns exactly the best chunks of those documents. An unfiltered HNSW search keeps
    ``HNSW_SEARCH_DEPTH`` candidates. Measured against flat search on the dev corpus' real e5
    vectors (3,242 chunks; 500 of its sentence vectors as queries; M=32): recall@50 0.998 and
    the same first hit for 500 of 500 with efSearch 256 (0.992 and 495 with 128; 0.953 and
    482 with faiss' default, which is k=50 here). ``tests/test_retrieve.py`` checks both on
    synthetic vectors."""

    name = "dense"

    def __init__(
        self, index: Index, embedder: Embedder, pool: int = POOL, depth: int = SENTENCE_DEPTH
    ):
        if index.manifest["model"]["id"] != embedder.model_id:
            raise ValueError(
                f"index was built with {index.manifest['model']['id']}, "
                f"not {embedder.model_id}: rebuild it with `rag ingest`"
            )
        self.index, self.embedder, self.pool, self.depth = index, embedder, pool, depth

    def embed(self, question: str) -> np.ndarray:
        return self.embedder.embed_query(fold(question))

    def rank(
        self, question: str, allowed: np.ndarray | None, vector: np.ndarray | None = None
    ) -> Ranking:
        """Chunk row → its closeness (``closest_part``) for the ``pool`` closest allowed chunks
        among the ``depth`` nearest by their own vectors."""
        vector = (self.embed(question) if vector is None else vector).reshape(1, -1)
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        ids, scores = self.nearest(vector, allowed, max(self.pool, self.depth))
        if self.depth and len(ids):
            scores = closest_part(self.index, ids, scores, vector[0])
        best = np.argsort(-scores, kind="stable")[: self.pool]
        return {int(ids[i]): float(scores[i]) for i in best}

    def nearest(
        self, vector: np.ndarray, allowed: np.ndarray | None, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` allowed chunk rows nearest ``vector`` by their own vectors, and cosines."""
        import faiss

        dense = self.index.dense
        if allowed is None:
            k = min(k, dense.ntotal)
            params = None
            if isinstance(dense, faiss.IndexHNSW):
                params = faiss.SearchParametersHNSW(efSearch=max(HNSW_SEARCH_DEPTH, k))
            scores, ids = dense.search(vector, k, params=params)
        else:
            k = min(k, int(allowed.sum()))
            if k == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            exact = (
                faiss.downcast_index(dense.storage) if isinstance(dense, faiss.IndexHNSW) else dense
            )
            bits = np.packbits(allowed, bitorder="little")  # kept alive during the search
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
            scores, ids = exact.search(vector, k, params=faiss.SearchParameters(sel=selector))
        found = ids[0] >= 0
        return ids[0][found], scores[0][found]


def closest_part(
    index: Index, rows: np.ndarray, scores: np.ndarray, vector: np.ndarray
) -> np.ndarray:
    """Each chunk's cosine ``scores`` raised to its best stored sentence's cosine with
    ``vector`` (a chunk without a stored sentence inside it keeps its own)."""
    sentences, owner = index.chunk_sentences(rows)
    stored = np.asarray(index.sentence_vectors[np.sort(sentences)], dtype=np.float32)
    cosines = stored @ vector
    best = np.array(scores, dtype=np.float32)
    np.maximum.at(best, owner[np.argsort(sentences, kind="stable")], cosines)
    return best


class Hybrid:
    """Two retrievers' rankings fused by their scores (``score_fusion``), each one's first hit
    kept (``fused_top``). ``prefer``: documents the question points at (its year, its issuer);
    their chunks, with their fused scores, form a third ranking: a nudge rather than a filter."""

    name = "hybrid"

    def __init__(self, a: Ranker, b: Ranker):
        if a.index is not b.index:
            raise ValueError("a hybrid retriever fuses two retrievers of one index")
        self.a, self.b, self.index = a, b, a.index

    def search(self, question, k=5, doc_ids=None, vector=None, prefer=()) -> list[Hit]:
        allowed = allowed_chunks(self.index, doc_ids)
        first = self.a.rank(question, allowed, vector)
        second = self.b.rank(question, allowed, vector)
        scores = score_fusion([first, second])
        if prefer:
            chunks = self.index.chunks
            nudge = {i: s for i, s in scores.items() if chunks[i].doc_id in prefer}
            scores = score_fusion([first, second, nudge])
        leaders = [next(iter(r)) for r in (first, second) if r]
        top = fused_top(scores, leaders, k)
        return _hits(self.index, top, scores, {self.a.name: first, self.b.name: second})


class Retrievers:
    """The retrievers of one index by mode name (``MODES``), for callers that choose per call;
    ``search(…, mode=…)`` is the one named."""

    def __init__(self, index: Index, embedder: Embedder, pool: int = POOL):
        bm25, dense = Bm25Retriever(index, pool), DenseRetriever(index, embedder, pool)
        self.index, self.dense = index, dense
        self.modes: dict[str, Retriever] = {
            "hybrid": Hybrid(bm25, dense),
            "bm25": bm25,
            "dense": dense,
        }

    def __getitem__(self, mode: str) -> Retriever:
        if mode not in self.modes:
            raise BadQuestion(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        return self.modes[mode]

    def embed(self, question: str) -> np.ndarray:
        return self.dense.embed(question)

    def search(
        self,
        question: str,
        k: int = 5,
        mode: str = "hybrid",
        doc_ids: Collection[str] | None = None,
        vector: np.ndarray | None = None,
        prefer: Collection[str] = (),
    ) -> list[Hit]:
        """The ``k`` best chunks by the retriever ``mode`` names."""
        return self[mode].search(question, k, doc_ids, vector, prefer)


def allowed_chunks(index: Index, doc_ids: Collection[str] | None) -> np.ndarray | None:
    """The mask of chunks a document filter lets through (None: no filter)."""
    return index.chunk_mask(doc_ids) if doc_ids else None


def _best(ranking: Ranking, k: int) -> list[int]:
    return sorted(ranking, key=lambda i: -ranking[i])[:k]


def _hits(
    index: Index, rows: list[int], scores: Ranking, rankings: dict[str, Ranking]
) -> list[Hit]:
    """``Hit``s for ``rows`` in order, each with the score and rank every retriever gave it."""
    ranks = {
        name: {i: r for r, i in enumerate(ranking, start=1)} for name, ranking in rankings.items()
    }
    bm25, dense = rankings.get("bm25", {}), rankings.get("dense", {})
    return [
        Hit(
            chunk=index.chunks[i],
            rank=rank,
            score=float(scores[i]),
            bm25_score=bm25.get(i),
            bm25_rank=ranks.get("bm25", {}).get(i),
            dense_score=dense.get(i),
            dense_rank=ranks.get("dense", {}).get(i),
        )
        for rank, i in enumerate(rows, start=1)
    ]
