"""The loaded state every front end shares: index + embedder + retriever, built from Settings.

CLI, HTTP API, chat page and evaluation all go through one ``Engine``, so they give the same
answers; the heavy model loads once per process.
"""

from __future__ import annotations

from functools import cached_property

from rag.embed import Embedder, make_embedder
from rag.index import BuildOptions, BuildReport, Index, Progress, build_index
from rag.models import cl100k
from rag.retrieve import Retriever
from rag.settings import Settings


def ingest(settings: Settings, progress: Progress | None = None,
           embedder: Embedder | None = None) -> BuildReport:  # fmt: skip
    """Build or update the index described by ``settings``."""
    encoding = cl100k(settings.model_cache)
    options = BuildOptions(settings.max_tokens, settings.merge_below, settings.dense_index)
    return build_index(
        settings.corpus_dir,
        settings.index_dir,
        embedder or make_embedder(settings.embedder, settings.model_cache),
        lambda text: len(encoding.encode(text, disallowed_special=())),
        options,
        progress,
    )


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder):
        self.settings, self.index, self.embedder = settings, index, embedder

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Engine:
        """Load the index, then the embedder its manifest names (unless one is given)."""
        index = Index.load(settings.index_dir)
        model_id = index.manifest["model"]["id"]
        engine = cls(settings, index, embedder or make_embedder(model_id, settings.model_cache))
        engine.retriever.search("预热", k=1)  # load the model and jieba now, not on first use
        return engine

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embedder)
