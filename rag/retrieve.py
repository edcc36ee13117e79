"""Stage 6: a question → ranked ``Hit``s, by BM25, dense vectors, or both fused.

Every mode has the same ``search(query, k)`` shape, so evaluation can compare them in one run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from rag.embed import Embedder
from rag.errors import BadQuestion
from rag.index import Index
from rag.types import Hit
from rag.zh import fold

MODES = ("hybrid", "bm25", "dense")


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Fuse ranked id lists: each list gives id at rank r (1-based) a score of 1 / (k + r).

    Rank fusion needs no score calibration between BM25 and cosine similarity, which live on
    unrelated scales (Cormack et al., 2009).

    >>> reciprocal_rank_fusion([[7, 3], [3, 9]], k=60)
    {7: 0.01639344262295082, 3: 0.03252247488101534, 9: 0.016129032258064516}
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def fused_top(scores: dict[int, float], leaders: Sequence[int], k: int) -> list[int]:
    """The ``k`` best ids by fused score, with every retriever's rank-1 id (``leaders``) kept.

    Fusion sums reciprocal ranks, so an id first in one list but absent from the other can fall
    below ids that both lists rank middling; a retriever's best guess is too good a signal to
    drop. A leader outside the top k replaces the lowest fused id that is not itself a leader.

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


class Retriever:
    """Hybrid search over one loaded index."""

    def __init__(self, index: Index, embedder: Embedder, pool: int = 50, rrf_k: int = 60):
        if index.manifest["model"]["id"] != embedder.model_id:
            raise ValueError(
                f"index was built with {index.manifest['model']['id']}, "
                f"not {embedder.model_id}: rebuild it with `rag ingest`"
            )
        self.index, self.embedder = index, embedder
        self.pool, self.rrf_k = pool, rrf_k

    def search(
        self,
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        doc_ids: Collection[str] | None = None,
        vector: np.ndarray | None = None,
        prefer: Collection[str] = (),
    ) -> list[Hit]:
        """The ``k`` best chunks; ``vector`` is the query's embedding if already computed.

        ``prefer``: documents the question points at (its year, its issuer); in hybrid mode
        their chunks form a third ranking for the fusion, a nudge rather than a filter."""
        if mode not in MODES:
            raise BadQuestion(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        allowed = self._allowed(doc_ids)
        bm25 = self._bm25(query, allowed) if mode != "dense" else {}
        dense = self._dense(query, allowed, vector) if mode != "bm25" else {}
        if mode == "hybrid":
            scores = reciprocal_rank_fusion([list(bm25), list(dense)], self.rrf_k)
            if prefer:
                chunks = self.index.chunks
                nudge = [i for i in sorted(scores, key=lambda i: -scores[i])
                         if chunks[i].doc_id in prefer]  # fmt: skip
                scores = reciprocal_rank_fusion([list(bm25), list(dense), nudge], self.rrf_k)
        else:
            scores = bm25 or dense
        if mode == "hybrid":
            ranked = fused_top(scores, [next(iter(r)) for r in (bm25, dense) if r], k)
        else:
            ranked = sorted(scores, key=lambda i: -scores[i])[:k]
        bm25_rank = {i: r for r, i in enumerate(bm25, start=1)}
        dense_rank = {i: r for r, i in enumerate(dense, start=1)}
        return [
            Hit(
                chunk=self.index.chunks[i],
                rank=rank,
                score=float(scores[i]),
                bm25_score=bm25.get(i),
                bm25_rank=bm25_rank.get(i),
                dense_score=dense.get(i),
                dense_rank=dense_rank.get(i),
            )
            for rank, i in enumerate(ranked, start=1)
        ]

    def _allowed(self, doc_ids: Collection[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        return np.array([c.doc_id in doc_ids for c in self.index.chunks])

    def _bm25(self, query: str, allowed: np.ndarray | None) -> dict[int, float]:
        """Chunk id → BM25 score for the best ``pool`` chunks sharing a term with the query."""
        terms = self.index.terms(query)
        if not terms:  # bm25s raises on an empty query; no term matches no chunk
            return {}
        scores = self.index.bm25.get_scores(terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[: self.pool]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def embed(self, query: str) -> np.ndarray:
        return self.embedder.embed_query(fold(query))

    def _dense(self, query: str, allowed: np.ndarray | None, vector: np.ndarray | None):
        """Chunk id → cosine similarity for the ``pool`` nearest chunks."""
        vector = (self.embed(query) if vector is None else vector).reshape(1, -1)
        pool = self.index.dense.ntotal if allowed is not None else self.pool
        scores, ids = self.index.dense.search(vector, min(pool, self.index.dense.ntotal))
        hits = {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
        if allowed is not None:
            hits = {i: s for i, s in hits.items() if allowed[i]}
        return dict(list(hits.items())[: self.pool])
