"""``rag bench --chunks N``: the corpus it builds and the numbers it reports (hashing embedder;
timings are printed, never asserted)."""

from __future__ import annotations

import json

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
