from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embed import HashingEmbedder
from rag.engine import ingest
from rag.errors import EmptyCorpus, IndexCorrupt, IndexMissing
from rag.index import FORMAT_VERSION, Index
from rag.settings import Settings

from .conftest import DOC


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering every passage it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts):
        self.seen.extend(texts)
        return super().embed_documents(texts)


class FailingEmbedder(HashingEmbedder):
    def embed_documents(self, texts):
        raise RuntimeError("power cut")


def settings_for(corpus: Path, tmp_path: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedder="hashing")


def test_manifest_round_trip(hashing_settings: Settings):
    index = Index.load(hashing_settings.index_dir)
    m = index.manifest
    assert m["format"] == FORMAT_VERSION
    assert m["model"] == {"id": HashingEmbedder.model_id, "dimension": 256, "prompts": {}}
    assert m["chunking"] == {"tokenizer": "cl100k_base", "max_tokens": 256, "merge_below": 48}
    assert m["counts"] == {
        "documents": 5,
        "chunks": len(index.chunks),
        "vectors": len(index.chunks),
        "sentences": len(index.sentence_rows),
    }
    assert index.sentence_vectors.shape == (len(index.sentence_rows), 256)
    assert sorted(e["doc_id"] for e in m["files"].values()) == sorted(DOC.values())
    assert {"chunks.jsonl", "documents.jsonl", "dense.faiss", "terms.txt"} <= set(m["artifacts"])
    assert any(name.startswith("bm25/") for name in m["artifacts"])
    assert index.dense.ntotal == len(index.chunks) and index.dense.d == 256
    assert "区医保局" in index.terms.words
    tree = index.tree("003")
    assert tree.doc.meta["发布机构"] == "区发改局"
    assert tree.clauses and tree.responsibilities


def test_vectors_match_a_fresh_embedding(hashing_settings: Settings):
    from rag.chunk import passage_text

    index = Index.load(hashing_settings.index_dir)
    stored = index.dense.reconstruct_n(0, 3)
    fresh = HashingEmbedder().embed_documents([passage_text(c) for c in index.chunks[:3]])
    assert np.allclose(stored, fresh)


def test_second_ingest_changes_nothing(corpus_copy: Path, tmp_path: Path):
    settings = settings_for(corpus_copy, tmp_path)
    first = ingest(settings)
    before = (settings.index_dir / "manifest.json").read_text()
    second = ingest(settings, embedder=CountingEmbedder())
    assert first.changed and not second.changed
    assert (settings.index_dir / "manifest.json").read_text() == before


def test_incremental_ingest_reembeds_only_the_changed_file(corpus_copy: Path, tmp_path: Path):
    settings = settings_for(corpus_copy, tmp_path)
    ingest(settings)
    path = corpus_copy / f"{DOC['000']}.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n五、附则\n本意见自发布之日起施行。\n",
                    encoding="utf-8")  # fmt: skip
    counter = CountingEmbedder()
    report = ingest(settings, embedder=counter)
    index = Index.load(settings.index_dir)
    assert report.changed and report.embedded == len(counter.seen) > 0
    assert report.reused == len(index.chunks) + len(index.sentence_rows) - report.embedded
    changed_doc = [c for c in index.chunks if c.doc_id == DOC["000"]]
    changed_sentences = [k for k in index.sentence_rows if k[0] == DOC["000"]]
    assert report.embedded <= len(changed_doc) + len(changed_sentences)
    assert all("五、附则" in t or "本意见" in t for t in counter.seen)  # only the new text
    assert any("本意见自发布之日起施行" in c.text for c in changed_doc)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: (d / "chunks.jsonl").write_text(
            (d / "chunks.jsonl").read_text(encoding="utf-8").replace("区医保局", "区卫健局"),
            encoding="utf-8",
        ),
        lambda d: (d / "dense.faiss").unlink(),
        lambda d: (d / "terms.txt").write_text("", encoding="utf-8"),
        lambda d: _rewrite_manifest(d, lambda m: m["counts"].update(chunks=1)),
        lambda d: _rewrite_manifest(d, lambda m: m.update(format=999)),
        lambda d: (d / "manifest.json").write_text("{not json", encoding="utf-8"),
    ],
    ids=["edited-chunks", "missing-faiss", "emptied-terms", "wrong-count", "format", "bad-json"],
)
def test_tampered_index_is_refused_with_a_rebuild_hint(corpus_copy, tmp_path, tamper):
    settings = settings_for(corpus_copy, tmp_path)
    ingest(settings)
    tamper(settings.index_dir)
    with pytest.raises(IndexCorrupt, match="rag ingest"):
        Index.load(settings.index_dir)
    assert ingest(settings).changed  # and ingest repairs it
    Index.load(settings.index_dir)


def _rewrite_manifest(index_dir: Path, change) -> None:
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_interrupted_build_leaves_the_old_index_untouched(corpus_copy: Path, tmp_path: Path):
    settings = settings_for(corpus_copy, tmp_path)
    ingest(settings)
    before = sorted(p.name for p in tmp_path.iterdir())
    manifest = (settings.index_dir / "manifest.json").read_text()
    (corpus_copy / "new.txt").write_text("新通知\n一、要求\n认真落实。", encoding="utf-8")
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(settings, embedder=FailingEmbedder())
    assert (settings.index_dir / "manifest.json").read_text() == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary folder left
    Index.load(settings.index_dir)


def test_unreadable_files_are_skipped_and_recorded(corpus_copy: Path, tmp_path: Path):
    (corpus_copy / "scan.txt").write_bytes(b"\x00\x01binary\x00")
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "photo.png").write_bytes(b"\x89PNG")
    report = ingest(settings_for(corpus_copy, tmp_path))
    assert report.documents == 5
    reasons = dict(report.skipped)
    assert "binary" in reasons["scan.txt"] and "empty" in reasons["empty.txt"]
    assert "unsupported file type" in reasons["photo.png"]
    manifest = Index.load(tmp_path / "index").manifest
    assert {s["file"] for s in manifest["skipped"]} == {"scan.txt", "empty.txt", "photo.png"}


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(EmptyCorpus, match="no readable text files"):
        ingest(settings_for(tmp_path / "corpus", tmp_path))
    with pytest.raises(EmptyCorpus, match="does not exist"):
        ingest(settings_for(tmp_path / "nowhere", tmp_path))
    assert not (tmp_path / "index").exists()


def test_missing_index_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(IndexMissing, match="rag ingest"):
        Index.load(tmp_path / "index")


def test_hnsw_index_can_be_selected(corpus_copy: Path, tmp_path: Path):
    import faiss

    settings = settings_for(corpus_copy, tmp_path).with_(dense_index="hnsw")
    ingest(settings)
    index = Index.load(settings.index_dir)
    assert isinstance(index.dense, faiss.IndexHNSWFlat)
    assert index.manifest["dense"]["kind"] == "hnsw"
