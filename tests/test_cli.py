"""The ``rag`` command as a user runs it: the hashing embedder, temp folders. The walk-through
starts one real subprocess (the entry point, a fresh interpreter reading the index the ingest
wrote); the other commands run ``rag.cli.main`` inside the test process (same argv, environment,
output streams and exit code), which spares an interpreter start-up and a dictionary load per
command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DOC


def rag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=120,
    )


@pytest.fixture
def env(corpus_copy: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "RAG_CORPUS_DIR": str(corpus_copy),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_EMBEDDER": "hashing",
    }


@pytest.fixture
def indexed_env(library_copy) -> dict[str, str]:
    """The environment of a corpus of document 003 whose index is already built."""
    settings = library_copy(("003",))
    return {
        "RAG_CORPUS_DIR": str(settings.corpus_dir),
        "RAG_INDEX_DIR": str(settings.index_dir),
        "RAG_EMBEDDER": "hashing",
    }


def test_ingest_search_info_show(env, rag_here):
    built = rag_here("ingest", env=env)
    assert built.returncode == 0, built.stderr
    assert "chunks from 5 files →" in built.stdout and "embedded" in built.stdout
    again = rag_here("ingest", env=env)
    assert "is up to date" in again.stdout

    found = rag("search", "区医保局负责什么", "-k", "3", "--json", env=env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["chunk"]["clause_path"].endswith("16.医保跨省结算")

    info = rag_here("info", env=env)
    assert "5 documents" in info.stdout and DOC["003"] in info.stdout

    clause = rag_here("show", "003", "--clause", "16.医保跨省结算", env=env)
    assert clause.returncode == 0
    assert "〔责任单位:区医保局〕" in clause.stdout
    outline = rag_here("show", "002", "--json", env=env)
    assert json.loads(outline.stdout)["doc"]["title"].startswith("昆山开发区")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "医保"), "no index in"),
        (("info",), "run `rag ingest`"),
    ],
)
def test_commands_before_ingest_fail_in_one_line(env, rag_here, args, message):
    result = rag_here(*args, env=env)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_empty_corpus_and_unknown_document_errors(indexed_env, rag_here, tmp_path: Path):
    env = indexed_env
    empty = tmp_path / "empty"
    empty.mkdir()
    result = rag_here("ingest", "--corpus", str(empty), env=env)
    assert result.returncode == 1 and "no readable document" in result.stderr
    assert rag_here("ingest", env=env).returncode == 0
    unknown = rag_here("show", "999", env=env)
    assert unknown.returncode == 1 and "unknown document '999'" in unknown.stderr
    no_clause = rag_here("show", "003", "--clause", "99.不存在", env=env)
    assert no_clause.returncode == 1 and "no clause" in no_clause.stderr
    blank = rag_here("search", "   ", env=env)
    assert blank.returncode == 1 and "empty" in blank.stderr


def test_skipped_file_is_a_warning_not_a_failure(indexed_env, rag_here):
    env = indexed_env
    (Path(env["RAG_CORPUS_DIR"]) / "broken.txt").write_bytes(b"\x00\xff\x00")
    result = rag_here("ingest", env=env)
    assert result.returncode == 0
    assert "warning: skipped broken.txt: binary" in result.stderr


def test_settings_lists_every_variable(rag_here):
    result = rag_here("settings", env={})
    assert "RAG_INDEX_DIR" in result.stdout and "RAG_MAX_TOKENS" in result.stdout
