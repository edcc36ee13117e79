"""The loaded state every front end shares: index + embedder + retriever, built from Settings.

CLI, HTTP API, chat page and evaluation all go through one ``Engine``, so they give the same
answers; the heavy model loads once per process.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import replace
from functools import cached_property

import numpy as np

from rag.answer import answer_from_hits, clarify, nothing_matches
from rag.build import BuildOptions, BuildReport, Progress, build_index
from rag.corpus import Reading
from rag.embed import Embedder, make_embedder
from rag.filters import Filters, preferred
from rag.index import Index
from rag.llm import LLMConfig, generate
from rag.models import cl100k
from rag.question import clean_question, content_terms, visible
from rag.retrieve import Retriever, Retrievers
from rag.settings import Settings
from rag.types import Answer, Hit


def ingest(
    settings: Settings,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    reading: Reading | None = None,
) -> BuildReport:
    """Build or update the index described by ``settings``; ``progress`` hears of embedding,
    ``reading`` of the files (and OCR pages) being read."""
    encoding = cl100k(settings.model_cache)
    options = BuildOptions(
        settings.max_tokens, settings.merge_below, settings.dense_index, settings.hnsw_from
    )
    return build_index(
        settings.corpus_dir,
        settings.index_dir,
        embedder or make_embedder(settings.embedder, settings.model_cache, settings),
        lambda text: len(encoding.encode(text, disallowed_special=())),
        options,
        progress,
        reading,
    )


def search_threads(threads: int) -> None:
    """FAISS searches with OpenMP on every core by default, and its idle threads spin after each
    search: on a busy 2-core machine one flat search over 10k chunks took 29 ms instead of
    1.6 ms, and the spinning made the question's embedding 3× slower. A question uses
    ``query_threads`` here too (the setting is per process: a server answers several questions
    at once; ingest builds HNSW with the same count in that process)."""
    import faiss

    faiss.omp_set_num_threads(max(1, threads))


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder):
        self.settings, self.index, self.embedder = settings, index, embedder
        self.llm = (
            LLMConfig(
                settings.llm_base_url,
                settings.llm_model,
                settings.llm_api_key,
                settings.llm_timeout,
            )
            if settings.llm_base_url and settings.llm_model
            else None
        )

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Engine:
        """Load the index, then the embedder its manifest names (unless one is given)."""
        index = Index.load(settings.index_dir)
        search_threads(settings.query_threads)
        model_id = index.manifest["model"]["id"]
        engine = cls(
            settings, index, embedder or make_embedder(model_id, settings.model_cache, settings)
        )
        engine.retriever.search("预热", k=1)  # load the model and jieba now, not on first use
        return engine

    @cached_property
    def retriever(self) -> Retrievers:
        """Every retriever over the index, by mode name (``engine.retriever["bm25"]``)."""
        return Retrievers(self.index, self.embedder)

    def retriever_for(self, mode: str | Retriever) -> Retriever:
        """The retriever a mode names (``hybrid``, ``bm25``, ``dense``), or the one given."""
        return self.retriever[mode] if isinstance(mode, str) else mode

    def search(
        self, query: str, k: int = 5, mode: str | Retriever = "hybrid", filters: Filters = Filters()
    ) -> list[Hit]:
        """Retrieved passages only. Nothing is found — not an error — for a query with no
        searchable word (“谁？”) or filters that leave no document."""
        query = clean_question(query)
        allowed = self.allowed(filters)
        if allowed == [] or not content_terms(self.index.terms(query)):
            return []
        return self.retriever_for(mode).search(query, k=k, doc_ids=allowed)

    def allowed(self, filters: Filters) -> list[str] | None:
        """Ids of the documents the filters let through (None: no filter, all of them).
        Ids may be given as unambiguous prefixes ("003"); an unknown one is an error."""
        if not filters.active:
            return None
        ids = tuple(self.index.tree(d).doc.doc_id for d in filters.doc_ids)
        narrowed = replace(filters, doc_ids=ids)
        return [t.doc.doc_id for t in self.index.trees.values() if narrowed.matches(t.doc)]

    def retrieve(
        self,
        question: str,
        top_k: int | None,
        mode: str | Retriever,
        allowed: list[str] | None = None,
    ) -> tuple[list[Hit], np.ndarray]:
        """The passages for a (clean) question, and its embedding: ``ask`` without the answer
        (``rag calibrate`` scores the same candidates many ways)."""
        trees = self.index.trees
        prefer = preferred(question, (trees[d].doc for d in allowed or trees))
        vector = self.retriever.embed(question)  # once, for chunks and for sentences
        k = top_k or self.settings.top_k
        retriever = self.retriever_for(mode)
        hits = retriever.search(question, k, doc_ids=allowed, vector=vector, prefer=prefer)
        return hits, vector

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        mode: str | Retriever = "hybrid",
        filters: Filters = Filters(),
    ) -> Answer:
        """Answer a question with citations; raises BadQuestion / UnknownDocument on bad input.

        ``doc_ids`` is shorthand for ``filters.doc_ids``; ``mode`` names the retriever (or is
        one, as ``rag eval`` passes them)."""
        started = time.perf_counter()
        asked, question = question, clean_question(question)
        retriever = self.retriever_for(mode)
        if doc_ids:
            filters = replace(filters, doc_ids=tuple(filters.doc_ids) + tuple(doc_ids))
        allowed = self.allowed(filters)
        if not content_terms(self.index.terms(question)):  # nothing to look for: ask for more
            return clarify(question, (time.perf_counter() - started) * 1000)
        if allowed == []:
            latency = (time.perf_counter() - started) * 1000
            return nothing_matches(question, filters.describe(), latency)
        hits, vector = self.retrieve(question, top_k, retriever, allowed)
        answer = answer_from_hits(question, hits, self.index, vector)
        if self.llm is not None:
            answer = generate(answer, self.index, vector, self.llm)
        latency = (time.perf_counter() - started) * 1000
        return replace(answer, question=visible(asked), latency_ms=latency)  # as asked, not formal
