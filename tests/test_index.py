from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.corpus import read_corpus
from rag.embed import HashingEmbedder
from rag.engine import ingest
from rag.errors import DuplicateDocumentId, EmptyCorpus, IndexCorrupt, IndexMissing
from rag.index import FORMAT_VERSION, Index
from rag.settings import Settings

from .conftest import CORPUS, DOC


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


def one_document(tmp_path: Path) -> Settings:
    """A corpus of one short bundled document (chapters, clauses, annotations), not yet indexed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(CORPUS / f"{DOC['000']}.txt", corpus)
    return settings_for(corpus, tmp_path)


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


def test_second_ingest_changes_nothing(tmp_path: Path):
    settings = one_document(tmp_path)
    first = ingest(settings)
    before = (settings.index_dir / "manifest.json").read_text()
    second = ingest(settings, embedder=CountingEmbedder())
    assert first.changed and not second.changed
    assert (settings.index_dir / "manifest.json").read_text() == before


def test_incremental_ingest_reembeds_only_the_changed_file(library_copy):
    settings = library_copy(("000", "004"))  # two short documents, one of them changed
    path = settings.corpus_dir / f"{DOC['000']}.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n五、附则\n本意见自发布之日起施行。\n",
        encoding="utf-8",
    )
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


ANNOTATED = "关于医保工作的通知\n一、重点任务\n1.医保跨省结算：推进异地就医直接结算。〔责任单位:区医保局〕\n"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: (d / "chunks.jsonl").write_text(
            (d / "chunks.jsonl").read_text(encoding="utf-8").replace("区医保局", "区卫健局"),
            encoding="utf-8",
        ),
        lambda d: (d / "dense.faiss").unlink(),
        lambda d: (d / "terms.txt").write_text("", encoding="utf-8"),
        lambda d: _rewrite_manifest(
            d, lambda m: m["counts"].update(chunks=m["counts"]["chunks"] + 1)
        ),
        lambda d: _rewrite_manifest(d, lambda m: m.update(format=999)),
        lambda d: (d / "manifest.json").write_text("{not json", encoding="utf-8"),
    ],
    ids=["edited-chunks", "missing-faiss", "emptied-terms", "wrong-count", "format", "bad-json"],
)
def test_tampered_index_is_refused_with_a_rebuild_hint(tmp_path: Path, tamper):
    corpus = tmp_path / "corpus"  # one short document naming a unit keeps the repair quick
    corpus.mkdir()
    (corpus / "000_x.txt").write_text(ANNOTATED, encoding="utf-8")
    settings = settings_for(corpus, tmp_path)
    ingest(settings)
    assert "区医保局" in (settings.index_dir / "terms.txt").read_text(encoding="utf-8")
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


def test_interrupted_build_leaves_the_old_index_untouched(library_copy, tmp_path: Path):
    settings = library_copy(("003",))
    before = sorted(p.name for p in tmp_path.iterdir()) + ["index.lock"]  # the ingest's lock file
    manifest = (settings.index_dir / "manifest.json").read_text()
    (settings.corpus_dir / "new.txt").write_text("新通知\n一、要求\n认真落实。", encoding="utf-8")
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(settings, embedder=FailingEmbedder())
    assert (settings.index_dir / "manifest.json").read_text() == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary folder left
    Index.load(settings.index_dir)


def test_unreadable_files_are_skipped_and_recorded(tmp_path: Path):
    corpus = tiny(tmp_path).corpus_dir
    (corpus / "scan.txt").write_bytes(b"\x00\x01binary\x00")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "photo.png").write_bytes(b"\x89PNG")
    report = ingest(settings_for(corpus, tmp_path))
    assert report.documents == len(TINY)
    reasons = dict(report.skipped)
    assert "binary" in reasons["scan.txt"] and "empty" in reasons["empty.txt"]
    assert "unsupported file type" in reasons["photo.png"]
    manifest = Index.load(tmp_path / "index").manifest
    assert {s["file"] for s in manifest["skipped"]} == {"scan.txt", "empty.txt", "photo.png"}


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(EmptyCorpus, match="no readable document"):
        ingest(settings_for(tmp_path / "corpus", tmp_path))
    with pytest.raises(EmptyCorpus, match="does not exist"):
        ingest(settings_for(tmp_path / "nowhere", tmp_path))
    assert not (tmp_path / "index").exists()


def test_missing_index_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(IndexMissing, match="rag ingest"):
        Index.load(tmp_path / "index")


def test_hnsw_index_can_be_selected(tmp_path: Path):
    import faiss

    settings = one_document(tmp_path).with_(dense_index="hnsw")
    ingest(settings)
    index = Index.load(settings.index_dir)
    assert isinstance(index.dense, faiss.IndexHNSWFlat)
    assert index.manifest["dense"]["kind"] == "hnsw"


# --- the corpus walk, ids, manifests and leftovers, on a tiny corpus --------------------------

TINY = {
    "000_x.txt": "关于医保工作的通知\n一、总体要求\n区医保局负责推进医保跨省结算。\n",
    "001_y.txt": "关于资金保障的意见\n一、资金来源\n区财政局负责安排专项资金。\n",
}


def tiny(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TINY.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return settings_for(corpus, tmp_path)


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target under ``root``, except the corpus."""
    return {
        str(p.relative_to(root)): os.readlink(p) if p.is_symlink() else p.read_bytes()
        for p in root.rglob("*")
        if p.is_symlink() or (p.is_file() and p.relative_to(root).parts[0] != "corpus")
    }


def _all_text(index: Index) -> str:
    return "".join(t.doc.text for t in index.trees.values())


def test_links_out_of_the_corpus_are_skipped_and_named(tmp_path: Path):
    settings = tiny(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd.txt").write_text("机密文件\n口令是天王盖地虎。\n", encoding="utf-8")
    corpus = settings.corpus_dir
    (corpus / "passwd.txt").symlink_to(secret / "passwd.txt")
    (corpus / "etc").symlink_to(secret, target_is_directory=True)
    (corpus / "alias.txt").symlink_to("000_x.txt")  # inside, but read as 000_x already
    (corpus / "loop.txt").symlink_to("loop.txt")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up.txt").symlink_to("../../secret/passwd.txt")
    report = ingest(settings)
    reasons = dict(report.skipped)
    for name in ("passwd.txt", "etc", "sub/up.txt"):
        assert "outside the corpus folder" in reasons[name], name
    assert "000_x.txt" in reasons["alias.txt"] and "loop" in reasons["loop.txt"]
    index = Index.load(settings.index_dir)
    assert set(index.trees) == {"000_x", "001_y"} and "天王盖地虎" not in _all_text(index)
    assert {s["file"] for s in index.manifest["skipped"]} == set(reasons)


def test_a_colliding_id_is_an_error_that_changes_nothing(tmp_path: Path, monkeypatch, capsys):
    from rag import cli

    settings = tiny(tmp_path)
    ingest(settings)
    before = _snapshot(tmp_path)
    (settings.corpus_dir / "000_x.md").write_text("另一份通知\n区民政局负责养老。\n", "utf-8")
    with pytest.raises(DuplicateDocumentId, match=r"000_x\.md and 000_x\.txt .*'000_x'"):
        ingest(settings)
    assert _snapshot(tmp_path) == before
    assert "区医保局" in Index.load(settings.index_dir).tree("000_x").doc.text

    monkeypatch.setattr(
        "sys.argv",
        ["rag", "ingest", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)],
    )
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    printed = capsys.readouterr().err.strip()
    assert exit_.value.code == 1 and printed.count("\n") == 0
    assert printed.startswith("error: 000_x.md and 000_x.txt")


def test_sub_folders_are_walked_with_unique_path_ids(tmp_path: Path):
    settings = tiny(tmp_path)
    corpus = settings.corpus_dir
    (corpus / "区县" / "江北").mkdir(parents=True)
    (corpus / "区县" / "江北" / "a b.txt").write_text("江北区通知\n区交通局负责道路。\n", "utf-8")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "HEAD.txt").write_text("ref: refs/heads/main\n", "utf-8")
    (corpus / ".draft.txt").write_text("草稿\n不要收录。\n", "utf-8")
    (corpus / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    os.mkfifo(corpus / "pipe.txt")  # reading it would block forever
    report = ingest(settings)
    index = Index.load(settings.index_dir)
    assert set(index.trees) == {"000_x", "001_y", "区县-江北-a_b"}
    tree = index.tree("区县-江北-a_b")
    assert tree.doc.source == "区县/江北/a b.txt"
    assert index.manifest["files"]["区县/江北/a b.txt"]["doc_id"] == "区县-江北-a_b"
    reasons = dict(report.skipped)
    assert set(reasons) == {"old.doc", "pipe.txt"}  # hidden ones are not even mentioned
    assert "save as .docx" in reasons["old.doc"] and "not a regular file" in reasons["pipe.txt"]

    (corpus / "区县-江北-a b.md").write_text("同名通知\n区民政局负责。\n", "utf-8")
    with pytest.raises(DuplicateDocumentId, match="区县/江北/a b.txt"):
        ingest(settings)


def test_a_format_without_its_reader_module_is_skipped(tmp_path: Path, monkeypatch):
    import rag.readers

    monkeypatch.setitem(rag.readers.READERS, "pdf", "rag.readers.not_installed_here")
    settings = tiny(tmp_path)
    (settings.corpus_dir / "scan.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    (settings.corpus_dir / "disguised.txt").write_bytes(b"%PDF-1.4\n1 0 obj\n")
    reasons = dict(ingest(settings).skipped)
    for name in ("scan.pdf", "disguised.txt"):
        assert "no pdf reader" in reasons[name] and "not_installed_here" in reasons[name]


def _resave(index_dir: Path, name: str, data: bytes, manifest_change=None) -> None:
    """Replace one artifact and keep its checksum matching, as a careful attacker would."""
    import hashlib

    (index_dir / name).write_bytes(data)
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["artifacts"][name] = hashlib.sha256(data).hexdigest()
    if manifest_change:
        manifest_change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _npy(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _sentences(index_dir: Path) -> int:
    return json.loads((index_dir / "manifest.json").read_text("utf-8"))["counts"]["sentences"]


def _vectors(index_dir: Path, shape_of, dtype=np.float32) -> None:
    _resave(index_dir, "sentences.npy", _npy(np.zeros(shape_of(_sentences(index_dir)), dtype)))


MALFORMED = {
    "list": lambda d: (d / "manifest.json").write_text("[]", encoding="utf-8"),
    "null": lambda d: (d / "manifest.json").write_text("null", encoding="utf-8"),
    "not-utf8": lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe{"),
    "no-model": lambda d: _rewrite_manifest(d, lambda m: m.pop("model")),
    "no-counts": lambda d: _rewrite_manifest(d, lambda m: m.pop("counts")),
    "count-as-text": lambda d: _rewrite_manifest(d, lambda m: m["counts"].update(chunks="3")),
    "dimension": lambda d: _rewrite_manifest(d, lambda m: m["model"].update(dimension=128)),
    "files-as-list": lambda d: _rewrite_manifest(d, lambda m: m.update(files=[])),
    "artifact-outside": lambda d: _rewrite_manifest(
        d, lambda m: m["artifacts"].update({"../corpus/000_x.txt": "0" * 64})
    ),
    # arrays replaced with their checksums updated: only shape checks can catch these
    "sentence-dimension": lambda d: _vectors(d, lambda n: (n, 257)),
    "sentence-flat": lambda d: _vectors(d, lambda n: n),
    "sentence-dtype": lambda d: _vectors(d, lambda n: (n, 256), np.float64),
    "frequencies-list": lambda d: _resave(d, "frequencies.json", b"[]"),
    "frequency-too-big": lambda d: _resave(d, "frequencies.json", '{"医保": 99}'.encode()),
    "unknown-doc": lambda d: _resave(
        d, "sentences.jsonl", b'{"doc_id": "nobody", "start": 0, "end": 1}\n' * _sentences(d)
    ),
}


@pytest.mark.parametrize("tamper", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_manifest_or_arrays_are_refused_and_rebuilt(tmp_path: Path, tamper):
    settings = tiny(tmp_path)
    ingest(settings)
    tamper(settings.index_dir)
    with pytest.raises(IndexCorrupt, match="rag ingest"):
        Index.load(settings.index_dir)
    assert ingest(settings).changed
    assert set(Index.load(settings.index_dir).trees) == {"000_x", "001_y"}


def test_a_relative_index_folder_keeps_what_it_points_to(tmp_path: Path, monkeypatch):
    settings = tiny(tmp_path)
    monkeypatch.chdir(tmp_path)
    relative = settings.with_(index_dir=Path("index"), corpus_dir=Path("corpus"))
    ingest(relative)
    (tmp_path / "corpus" / "002_z.txt").write_text("新通知\n区民政局负责养老。\n", "utf-8")
    ingest(relative)
    assert set(Index.load(Path("index")).trees) == {"000_x", "001_y", "002_z"}
    versions = [p.name for p in tmp_path.iterdir() if p.name.startswith("index.v-")]
    assert versions == [os.readlink("index")]


def test_leftovers_of_an_old_crashed_swap_are_loaded_then_cleaned(tmp_path: Path):
    """Builds before versioning renamed index → index.old-N, then index.tmp-M → index; a crash
    between the two left no index at all."""
    settings = tiny(tmp_path)
    ingest(settings)
    old = settings.index_dir.resolve()
    settings.index_dir.unlink()
    old.rename(tmp_path / "index.old-200")
    (settings.corpus_dir / "002_z.txt").write_text("新通知\n区民政局负责养老。\n", "utf-8")
    ingest(settings)
    new = settings.index_dir.resolve()
    settings.index_dir.unlink()
    new.rename(tmp_path / "index.tmp-100")  # older name, newer content: the one to load
    (tmp_path / "index.tmp-300").mkdir()  # a build killed before it wrote its manifest

    assert set(Index.load(settings.index_dir).trees) == {"000_x", "001_y", "002_z"}
    report = ingest(settings)
    assert not report.changed  # recovered, nothing to rebuild
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["corpus", "index", "index.lock", os.readlink(settings.index_dir)]
    assert set(Index.load(settings.index_dir).trees) == {"000_x", "001_y", "002_z"}


def test_two_ingests_at_once_are_refused(tmp_path: Path):
    import fcntl

    from rag.errors import IngestRunning

    settings = tiny(tmp_path)
    with open(tmp_path / "index.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(IngestRunning, match="another `rag ingest`"):
            ingest(settings)
    assert ingest(settings).changed


def test_a_new_skip_reaches_the_manifest_without_re_embedding(tmp_path: Path):
    settings = tiny(tmp_path)
    ingest(settings)
    (settings.corpus_dir / "photo.png").write_bytes(b"\x89PNG")
    counter = CountingEmbedder()
    report = ingest(settings, embedder=counter)
    assert report.changed and counter.seen == []
    skipped = Index.load(settings.index_dir).manifest["skipped"]
    assert [s["file"] for s in skipped] == ["photo.png"]
    assert not ingest(settings).changed


def test_a_hostile_file_name_is_one_plain_warning_line(tmp_path: Path, monkeypatch, capsys):
    from rag import cli

    settings = tiny(tmp_path)
    (settings.corpus_dir / "evil\n[red]x.png").write_bytes(b"\x89PNG")
    monkeypatch.setattr(
        "sys.argv",
        ["rag", "ingest", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)],
    )
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert [line for line in capsys.readouterr().err.splitlines() if line.strip()] == [
        "warning: skipped evil?[red]x.png: unsupported file type (expected .txt, .text, .md, "
        ".html, .htm, .shtml, .pdf, .docx)"
    ]


def test_reading_progress_names_every_file(tmp_path: Path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in ("a.txt", "b.md"):
        (corpus / name).write_text("某某通知\n一、总则\n正文内容。", encoding="utf-8")
    seen = []
    read_corpus(corpus, lambda what, done, total: seen.append((what, done, total)))
    assert seen == [("a.txt", 0, 2), ("b.md", 1, 2)]


def test_a_change_in_the_parsing_code_rebuilds_the_index(library_copy, monkeypatch):
    from rag import build as build_module

    settings = library_copy(("003",))
    assert not ingest(settings).changed
    monkeypatch.setattr(build_module, "pipeline_version", lambda: "as if clauses.py changed")
    report = ingest(settings)
    assert report.changed and report.embedded == 0  # re-parsed; vectors of unchanged texts reused


def _as_format_2(index_dir: Path) -> None:
    """Turn a built index into what format 2 wrote: no frequencies.json, format 2."""
    (index_dir / "frequencies.json").unlink()

    def older(manifest):
        manifest["format"] = 2
        del manifest["artifacts"]["frequencies.json"]

    _rewrite_manifest(index_dir, older)


def test_an_older_format_says_re_ingest_and_its_vectors_are_reused(tmp_path: Path):
    settings = tiny(tmp_path)
    ingest(settings)
    _as_format_2(settings.index_dir)
    with pytest.raises(IndexCorrupt, match=r"format 2 .* not 3; run `rag ingest`"):
        Index.load(settings.index_dir)
    counter = CountingEmbedder()
    report = ingest(settings, embedder=counter)
    assert report.changed and counter.seen == [] and report.reused > 0
    assert Index.load(settings.index_dir).manifest["format"] == FORMAT_VERSION


def test_older_vectors_of_another_model_or_tampered_are_not_reused(tmp_path: Path):
    settings = tiny(tmp_path)
    ingest(settings)
    _as_format_2(settings.index_dir)
    _rewrite_manifest(settings.index_dir, lambda m: m["model"].update(id="other-model"))
    counter = CountingEmbedder()
    assert ingest(settings, embedder=counter).embedded > 0 and counter.seen
    _as_format_2(settings.index_dir)
    (settings.index_dir / "sentences.npy").write_bytes(b"garbage")  # checksum now wrong
    counter = CountingEmbedder()
    assert ingest(settings, embedder=counter).embedded > 0 and counter.seen


def test_idf_comes_from_our_counts_and_agrees_with_bm25s(hashing_settings: Settings):
    from rag.chunk import passage_text

    index = Index.load(hashing_settings.index_dir)
    holding = sum("医保" in index.terms(passage_text(c)) for c in index.chunks)
    assert index.frequencies["医保"] == holding > 0
    # bm25s's own document frequencies (its internal arrays, read here only to cross-check)
    df = np.diff(index.bm25.scores["indptr"])
    for term, row in list(index.bm25.vocab_dict.items())[:500]:
        if row < len(df) and df[row]:
            assert index.frequencies[term] == df[row], term
    assert index.unseen_idf() > max(index.idf.values())


def test_auto_picks_hnsw_from_the_set_size_and_a_bad_kind_is_refused(tmp_path: Path):
    import faiss

    from rag.settings import BadSetting

    settings = tiny(tmp_path).with_(dense_index="auto", hnsw_from=1)
    ingest(settings)
    index = Index.load(settings.index_dir)
    assert isinstance(index.dense, faiss.IndexHNSWFlat)
    assert index.manifest["dense"]["kind"] == "hnsw"
    assert not ingest(settings).changed
    assert ingest(settings.with_(hnsw_from=10_000)).changed
    assert Index.load(settings.index_dir).manifest["dense"]["kind"] == "flat"
    before = _snapshot(tmp_path)
    with pytest.raises(BadSetting, match="RAG_DENSE_INDEX"):
        ingest(settings.with_(dense_index="magic"))
    assert _snapshot(tmp_path) == before


def test_sentence_vectors_are_half_precision_and_memory_mapped(hashing_settings: Settings):
    from rag.index import sentence_text

    index = Index.load(hashing_settings.index_dir)
    assert isinstance(index.sentence_vectors, np.memmap)
    assert index.sentence_vectors.dtype == np.float16
    spans = list(index.sentence_rows)[:50]
    texts = [sentence_text(index.trees[d], s, e) for d, s, e in spans]
    fresh = HashingEmbedder().embed_documents(texts)
    for span, vector in zip(spans, fresh, strict=True):
        stored = index.sentence_vector(*span)
        assert stored.dtype == np.float32
        assert abs(float(stored @ vector) - float(vector @ vector)) < 1e-3
    assert index.sentence_vector(spans[0][0], -1, -1) is None
