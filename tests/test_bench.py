"""``rag bench --chunks N``: the corpus it builds and the numbers it reports (hashing embedder;
timings are printed, never asserted)."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from rag.bench import bench_chunks, bench_corpus, bench_sources, chunks_table
from rag.cli import app
from rag.corpus import read_corpus
from rag.errors import RagError
from rag.settings import Settings
from tests.conftest import CORPUS


def test_bench_corpus_repeats_documents_with_distinct_titles(tmp_path):
    settings = Settings(embedder="hashing")
    target = tmp_path / "corpus"
    made = bench_corpus([CORPUS], target, 600, settings)
    assert made >= 600
    trees, skipped = read_corpus(target)
    assert not skipped
    titles = [t.doc.title for t in trees]
    assert len(titles) == len(set(titles)) > len(list(CORPUS.glob("*.txt")))
    assert any("（副本1）" in t for t in titles)


def test_bench_corpus_stops_near_the_asked_size(tmp_path):
    settings = Settings(embedder="hashing")
    one = bench_corpus([CORPUS], tmp_path / "a", 1, settings)
    assert len(list((tmp_path / "a").iterdir())) == 1 and one >= 1
    many = bench_corpus([CORPUS], tmp_path / "b", 2_000, settings)
    files = len(list((tmp_path / "b").iterdir()))
    per_file = many / files
    assert 2_000 <= many < 2_000 + 3 * per_file  # stops within about one document


def test_bench_chunks_reports_every_number(tmp_path):
    settings = Settings(
        embedder="hashing", model_cache=Settings().model_cache, state_dir=tmp_path / "state"
    )
    result = bench_chunks(settings, 120, queries=5, server=False, sources=[CORPUS])
    assert result["chunks"] >= 120
    ingest = result["ingest_hashing"]
    assert ingest["embedded"] > result["chunks"]  # passages and sentences
    assert ingest["passages_per_s"] > 0 and ingest["index_mb"] > 0
    assert set(result["queries"]) == {"ask (in process)", "query embedding"}
    assert all(q["n"] == 5 for q in result["queries"].values())
    assert result["peak_rss_mib"] > 0
    text = chunks_table(result)
    assert "passages/s" in text and "query embedding" in text


def test_cli_bench_chunks_json(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.bench.bench_sources", lambda settings: [CORPUS])
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("RAG_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(
        app, ["bench", "--chunks", "50", "--queries", "3", "--no-server", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["chunks_requested"] == 50 and data["ingest_hashing"]["embedded"] > 0


def test_bench_sources_are_the_bundled_and_dev_corpora():
    found = bench_sources(Settings())
    assert found[0] == CORPUS and found[-1] == CORPUS.parent / "eval" / "dev" / "corpus"


def test_cli_bench_chunks_rejects_nonsense():
    result = CliRunner().invoke(app, ["bench", "--chunks", "0"])
    assert result.exit_code != 0
    result = CliRunner().invoke(app, ["bench", "--json"])  # `rag` prints it as one line
    assert isinstance(result.exception, RagError) and "--chunks" in str(result.exception)


def test_stand_in_vectors_are_e5_shaped_unit_and_deterministic():
    from rag.bench import StandInEmbedder
    from rag.models import E5_MODEL_ID

    e = StandInEmbedder()
    vectors = e.embed_documents(["第一条 总则", "第二条 适用范围", "第一条 总则"])
    assert e.model_id == E5_MODEL_ID and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])


def test_bench_chunks_over_the_bound_fills_the_e5_index_with_the_stand_in(tmp_path, monkeypatch):
    from rag import bench, embed, engine

    made: list[str] = []

    def fake_e5(name, cache, settings=None):  # no real model in fast tests
        made.append(name)
        return bench.StandInEmbedder()

    monkeypatch.setattr(embed, "make_embedder", fake_e5)
    monkeypatch.setattr(engine, "make_embedder", fake_e5)
    monkeypatch.setattr(bench, "REAL_INGEST_UP_TO", 100)
    settings = Settings(model_cache=Settings().model_cache, state_dir=tmp_path / "state")
    result = bench_chunks(settings, 150, queries=4, server=False, sources=[CORPUS])
    assert "ingest_stand-in" in result and "ingest_hashing" not in result
    assert result["ingest_stand-in"]["embedded"] > result["chunks"] >= 150
    assert result["queries"]["ask (in process)"]["n"] == 4
    assert made and set(made) <= {"e5-small", bench.StandInEmbedder().model_id}
    assert "ingest stand-in" in chunks_table(result)


def test_bench_during_ingest_times_asks_quiet_and_during_an_ingest(
    hashing_settings, monkeypatch, tmp_path
):
    from rag.bench import bench_during_ingest

    monkeypatch.setenv("RAG_EMBEDDER", "hashing")  # the ingest process reads it
    monkeypatch.setenv("RAG_STATE_DIR", str(tmp_path / "state"))
    result = bench_during_ingest(hashing_settings, CORPUS, requests=15, seconds=10)
    quiet, during = result["quiet"], result["during ingest"]
    assert quiet["n"] == 15 and during["n"] > 0
    assert 0 < quiet["p50_ms"] <= quiet["p95_ms"] and 0 < during["p50_ms"] <= during["p95_ms"]
    assert result["p50_ratio"] == round(during["p50_ms"] / quiet["p50_ms"], 2)
    assert result["ingest_s"] > 0 and isinstance(result["ingest_finished"], bool)
    assert result["ingest_nice"] == hashing_settings.ingest_nice
