"""The shared fixtures hand out what they promise (tests/conftest.py): a copied prebuilt index
is as good as a fresh ingest, and session-cached reads are the reads themselves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.embed import HashingEmbedder
from rag.engine import Engine, ingest
from rag.normalize import read_document

from .conftest import DEV_CORPUS, DOC


def test_a_library_copy_is_an_up_to_date_index_of_its_documents(library_copy):
    settings = library_copy(("003", "004"), max_upload_bytes=1234)
    assert settings.max_upload_bytes == 1234
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == [
        f"{DOC['003']}.txt",
        f"{DOC['004']}.txt",
    ]
    assert not ingest(settings).changed  # nothing to redo where the copy lies
    engine = Engine.load(settings, HashingEmbedder())
    answer = engine.ask("谁负责医保跨省结算？")
    assert answer.found and {c.doc_id for c in answer.citations} == {DOC["003"]}


def test_library_copies_are_private(library_copy, prebuilt, tmp_path):
    settings = library_copy(("003",))
    (settings.corpus_dir / f"{DOC['003']}.txt").write_text("标题\n一、正文。\n", encoding="utf-8")
    assert ingest(settings).changed
    shared = prebuilt(("003",))
    assert "〔责任单位:区医保局〕" in (shared / "corpus" / f"{DOC['003']}.txt").read_text("utf-8")
    assert shared != tmp_path
    in_place = settings.with_(index_dir=shared / "index", corpus_dir=shared / "corpus")
    assert not ingest(in_place).changed


def test_dev_read_is_read_document_once(dev_read):
    first = dev_read("d23")
    assert first.doc == read_document(next(DEV_CORPUS.glob("d23_*")))
    assert first.seconds > 0 and dev_read("d23") is first


def test_rag_here_gives_what_a_subprocess_gives(rag_here, tmp_path):
    missing = {"RAG_INDEX_DIR": str(tmp_path / "none"), "RAG_EMBEDDER": "hashing"}
    failed = rag_here("info", env=missing)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("error:") and len(failed.stderr.strip().splitlines()) == 1
    listed = rag_here("settings", env={})
    assert listed.returncode == 0 and "RAG_INDEX_DIR" in listed.stdout and listed.stderr == ""


def test_temporary_folders_are_in_memory_where_the_machine_has_dev_shm(tmp_path, request):
    shm = Path("/dev/shm")
    chosen = request.config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT") != str(shm)
    if shm.is_dir() and not chosen:
        assert tmp_path.is_relative_to(shm.resolve())
    else:
        pytest.skip("no /dev/shm here, or the temporary root was chosen by the caller")
