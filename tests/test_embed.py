"""The e5 embedder's plumbing without the model: batching, pooling, prompts, settings, imports.

The real model's numbers (ONNX vs torch cosine, bf16 vs fp32) are in test_real_model.py (slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.e5_encoders import cpu_has_bf16, length_batches, mean_pooled
from rag.embed import E5Embedder, HashingEmbedder, make_embedder
from rag.settings import BadSetting, Settings

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("size", [1, 3, 32])
def test_length_batches_cover_every_position_once_longest_first(size):
    lengths = [len(t) for t in ["a" * n for n in (5, 300, 12, 12, 0, 77, 140, 9, 64, 2)]]
    batches = length_batches(lengths, size)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= size for b in batches)
    ordered = [lengths[i] for i in flat]
    assert ordered == sorted(ordered, reverse=True)  # each batch pads to its own length only


def test_length_batches_of_nothing():
    assert length_batches([], 8) == []


def test_mean_pooling_ignores_padding_and_normalises():
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=(2, 5, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    pooled = mean_pooled(hidden, mask)
    noisy = hidden.copy()
    noisy[0, 3:] = 1e6  # what sits on padded positions must not matter
    assert np.allclose(mean_pooled(noisy, mask), pooled)
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-6)
    want = hidden[0, :3].mean(axis=0)
    assert np.allclose(pooled[0], want / np.linalg.norm(want), atol=1e-6)
    assert pooled.dtype == np.float32


def test_mean_pooling_of_bf16_like_input_is_float32():
    hidden = np.ones((1, 2, 4), dtype=np.float16)
    assert mean_pooled(hidden, np.array([[1, 1]])).dtype == np.float32


class _Recorder:
    """Stands in for an encoder: remembers the texts and returns one-hot-ish vectors."""

    def __init__(self):
        self.seen: list[list[str]] = []

    def encode(self, texts, batch_size=32):
        self.seen.append(list(texts))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        out[np.arange(len(texts)), [len(t) % 384 for t in texts]] = 1.0
        return out


def _fake_e5(tmp_path: Path) -> tuple[E5Embedder, _Recorder, _Recorder]:
    e5 = E5Embedder(tmp_path, precision="fp32")
    passages, queries = _Recorder(), _Recorder()
    e5.__dict__["passage_encoder"], e5.__dict__["query_encoder"] = passages, queries
    return e5, passages, queries


def test_e5_prompts_go_to_the_right_encoder(tmp_path):
    e5, passages, queries = _fake_e5(tmp_path)
    docs = e5.embed_documents(["第一条 总则", "二"])
    q = e5.embed_query("谁负责")
    assert passages.seen == [["passage: 第一条 总则", "passage: 二"]]
    assert queries.seen == [["query: 谁负责"]]
    assert docs.shape == (2, 384) and q.shape == (384,)


def test_e5_construction_loads_nothing(tmp_path):
    e5 = E5Embedder(tmp_path / "no-model-here")
    assert "passage_encoder" not in e5.__dict__ and "query_encoder" not in e5.__dict__


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"embed_query_engine": "tensorrt"}, "RAG_EMBED_QUERY_ENGINE"),
        ({"embed_precision": "int8"}, "RAG_EMBED_PRECISION"),
    ],
)
def test_bad_engine_settings_name_the_variable(tmp_path, changes, word):
    with pytest.raises(BadSetting, match=word):
        make_embedder("e5-small", tmp_path, Settings(**changes))


def test_make_embedder_passes_the_settings_on(tmp_path):
    s = Settings(
        embed_query_engine="torch",
        embed_precision="fp32",
        query_threads=2,
        ingest_threads=3,
        ingest_nice=4,
    )
    e5 = make_embedder("e5-small", tmp_path, s)
    assert isinstance(e5, E5Embedder)
    assert (e5.query_engine, e5.precision, e5.query_threads) == ("torch", "fp32", 2)
    assert (e5.ingest_threads, e5.ingest_nice) == (3, 4)
    assert isinstance(make_embedder("hashing", tmp_path, s), HashingEmbedder)


def test_auto_precision_follows_the_cpu(tmp_path):
    assert E5Embedder(tmp_path, precision="auto").precision == (
        "bf16" if cpu_has_bf16() else "fp32"
    )
    assert E5Embedder(tmp_path).precision == "fp32"  # bf16 did not earn its place (README)


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no os.nice here")
def test_ingest_priority_is_lowered_for_the_calling_thread_only():
    from rag.embed import _lower_priority

    seen = []  # the thread ends with its niceness: this test's own thread must keep its own
    t = threading.Thread(target=lambda: (_lower_priority(5), seen.append(os.nice(0))))
    t.start()
    t.join()
    worker, main = seen[0], os.nice(0)
    if main + 5 > 19:  # niceness stops at 19: a run already lowered this far cannot show it
        pytest.skip(f"this process already runs at niceness {main}")
    assert worker == main + 5  # the ingest thread yields; the thread answering questions not


def test_serving_modules_do_not_import_torch():
    """The server answers questions through ONNX: importing it must not pull in torch (≈2 s
    and hundreds of MB) nor sentence-transformers/transformers."""
    out = _run(
        "import sys\n"
        "import rag.server, rag.cli, rag.engine, rag.embed, rag.e5_encoders\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    assert out == "[]"
