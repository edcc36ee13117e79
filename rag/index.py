"""Stage 5: chunks → an index folder of plain files, built atomically and verified on load.

    index/
      manifest.json      format version, model, prompts, chunking, per-file sha256, counts,
                         sha256 of every other file, build time
      documents.jsonl    one ClauseTree per document (display text, clauses, annotations)
      chunks.jsonl       row i of every array below is line i here
      dense.faiss        inner-product FAISS index over normalised vectors (flat or HNSW)
      sentences.jsonl    every sentence span (doc id, start, end) …
      sentences.npy      … and its vector, so answers can pick the best sentence instantly
      bm25/              bm25s arrays over jieba terms
      terms.txt          unit names taught to jieba, one per line

``index`` is a link to a versioned sibling folder (``index.v-<ns>``); a build writes a new one
and swaps the link atomically, so a crash never leaves a half index (see "Where the index
lives" below). The manifest is schema-checked and every array's shape checked on load.
``rag ingest`` with nothing changed does nothing; a changed corpus re-embeds only chunks whose
text is new (vectors are reused by content hash).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import glob
import hashlib
import io
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.chunk import CountTokens, chunk_tree, passage_text
from rag.corpus import Reading, read_corpus
from rag.embed import Embedder
from rag.errors import (
    IndexCorrupt,
    IndexMissing,
    IndexWriteFailed,
    IngestRunning,
    UnknownDocument,
    os_error_text,
)
from rag.manifest import artifact_problem, problem
from rag.terms import Terms
from rag.types import Chunk, ClauseTree
from rag.zh import fold, sentence_spans

FORMAT_VERSION = 2
EMBED_BATCH = 32
REBUILD_HINT = "run `rag ingest` to rebuild it"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    max_tokens: int = 256
    merge_below: int = 48
    dense: str = "flat"  # or "hnsw"

    def as_manifest(self) -> dict:
        return {"tokenizer": "cl100k_base", "max_tokens": self.max_tokens,
                "merge_below": self.merge_below}  # fmt: skip


@dataclass
class BuildReport:
    path: Path
    changed: bool
    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # vectors computed in this build
    reused: int = 0  # vectors taken over from the previous index
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0
    vocabulary: int = 0
    dimension: int = 0


def build_index(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    count_tokens: CountTokens,
    options: BuildOptions = BuildOptions(),
    progress: Progress | None = None,
    reading: Reading | None = None,
) -> BuildReport:
    """Build (or bring up to date) the index for ``corpus`` in ``index_dir``.

    Raises ``IndexWriteFailed`` (one line) when the disk is full or not writable; the index in
    place then stays as it was and no temporary folder is left."""
    started = time.perf_counter()
    trees, skipped = read_corpus(corpus, reading)
    files = {t.doc.source: {"sha256": t.doc.sha256, "doc_id": t.doc.doc_id} for t in trees}
    settings = _settings(embedder, options)
    with _writing(index_dir):
        previous = _previous(index_dir)
        skips = [{"file": f, "reason": r} for f, r in skipped]
        if (
            previous
            and previous.manifest["files"] == files
            and previous.manifest["skipped"] == skips
            and _same_settings(previous, settings)
        ):
            return BuildReport(index_dir, False, len(trees), len(previous.chunks), skipped=skipped)

        chunks = [c for t in trees for c in chunk_tree(t, count_tokens, options.max_tokens,
                                                       options.merge_below)]  # fmt: skip
        texts = [passage_text(c) for c in chunks]
        spans = [(t.doc.doc_id, s, e) for t in trees for s, e in sentence_spans(t.doc.text)]
        by_id = {t.doc.doc_id: t for t in trees}
        sentences = [sentence_text(by_id[d], s, e) for d, s, e in spans]
        known = previous.vectors_by_text() if previous and _same_model(previous, embedder) else {}
        del previous  # its arrays are no longer needed while writing the new index
        all_vectors, embedded = _embed(texts + sentences, known, embedder, progress)
        vectors, sentence_vectors = all_vectors[: len(texts)], all_vectors[len(texts) :]
        terms = Terms(u for t in trees for r in t.responsibilities for u in r.lead + r.participants)
        bm25 = _bm25([terms(t) for t in texts])
        dense = _dense_bytes(vectors, options.dense)

        def write(folder: Path) -> None:
            _write(folder / "documents.jsonl", _jsonl(t.to_dict() for t in trees))
            _write(folder / "chunks.jsonl", _jsonl(c.to_dict() for c in chunks))
            _write(folder / "terms.txt", "\n".join(terms.words).encode())
            _write(folder / "dense.faiss", dense)
            _write(folder / "sentences.jsonl", _jsonl({"doc_id": d, "start": s, "end": e}
                                                      for d, s, e in spans))  # fmt: skip
            _write(folder / "sentences.npy", _npy(sentence_vectors))
            bm25.save(str(folder / "bm25"), show_progress=False)
            _checkpoint("wrote bm25")
            manifest = {
                "format": FORMAT_VERSION,
                **settings,
                "bm25": {
                    "k1": bm25.k1,
                    "b": bm25.b,
                    "vocabulary": len(bm25.vocab_dict),
                    "unit_words": len(terms.words),
                },  # fmt: skip
                "files": files,
                "skipped": skips,
                "counts": {
                    "documents": len(trees),
                    "chunks": len(chunks),
                    "vectors": len(chunks),
                    "sentences": len(spans),
                },  # fmt: skip
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(time.perf_counter() - started, 2),
            }
            manifest["artifacts"] = {
                p.relative_to(folder).as_posix(): _sha256(p)
                for p in sorted(folder.rglob("*"))
                if p.is_file()
            }
            text = json.dumps(manifest, ensure_ascii=False, indent=2)
            _write(folder / "manifest.json", text.encode())  # last: it makes the folder whole

        _install(index_dir, write)
    return BuildReport(
        index_dir, True, len(trees), len(chunks), embedded, len(texts) + len(spans) - embedded,
        skipped,
        round(time.perf_counter() - started, 2), len(bm25.vocab_dict), embedder.dimension,
    )  # fmt: skip


# The modules that turn files into chunks: when their code changes, a rebuild is needed (vectors
# of unchanged texts are reused, so it is cheap).
PIPELINE = ("readers", "normalize.py", "headings.py", "annotations.py", "clauses.py", "chunk.py",
            "zh.py", "corpus.py")  # fmt: skip


@functools.cache
def pipeline_version() -> str:
    """A digest of the reading, parsing and chunking code (first 16 hex digits)."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for name in PIPELINE:
        part = root / name
        for path in sorted(part.rglob("*.py")) if part.is_dir() else [part]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _settings(embedder: Embedder, options: BuildOptions) -> dict:
    return {
        "pipeline": pipeline_version(),
        "model": {
            "id": embedder.model_id,
            "dimension": embedder.dimension,
            "prompts": embedder.prompts,
        },  # fmt: skip
        "chunking": options.as_manifest(),
        "dense": {"kind": options.dense, "metric": "inner_product"},
    }


def _same_settings(previous: Index, settings: dict) -> bool:
    m = previous.manifest
    return all(m.get(k) == v for k, v in settings.items()) and m["format"] == FORMAT_VERSION


def _same_model(previous: Index, embedder: Embedder) -> bool:
    return previous.manifest["model"]["id"] == embedder.model_id


def _previous(index_dir: Path) -> Index | None:
    """The current index if there is a valid one (a broken one is simply rebuilt)."""
    try:
        return Index.load(index_dir)
    except (IndexMissing, IndexCorrupt):
        return None


def _embed(texts: list[str], known: dict[str, np.ndarray], embedder: Embedder,
           progress: Progress | None) -> tuple[np.ndarray, int]:  # fmt: skip
    # longest first: each batch pads to texts of its own length (about 1.7× faster, same vectors)
    todo = sorted({t for t in texts if _text_key(t) not in known}, key=lambda t: (-len(t), t))
    fresh: dict[str, np.ndarray] = {}
    for i in range(0, len(todo), EMBED_BATCH):
        batch = todo[i : i + EMBED_BATCH]
        for text, vector in zip(batch, embedder.embed_documents(batch), strict=True):
            fresh[_text_key(text)] = vector
        if progress:
            progress(min(i + EMBED_BATCH, len(todo)), len(todo))
    lookup = {**known, **fresh}
    vectors = np.stack([lookup[_text_key(t)] for t in texts]).astype(np.float32)
    return vectors, len(todo)


def sentence_text(tree: ClauseTree, start: int, end: int) -> str:
    """What a sentence's vector embeds: its clause path, then the sentence, folded."""
    clause = tree.clause_at(start)
    path = clause.path_text if clause else tree.doc.title
    return fold(f"{path}：{tree.doc.text[start:end]}")


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bm25(corpus_terms: list[list[str]]):
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(corpus_terms, show_progress=False)
    return bm25


def _dense_bytes(vectors: np.ndarray, kind: str) -> bytes:
    """The FAISS index as bytes, so Python writes the file (and reports a full disk as OSError)."""
    import faiss

    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    elif kind == "flat":
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        raise ValueError(f"unknown dense index kind {kind!r}: use flat or hnsw")
    index.add(vectors)
    return faiss.serialize_index(index).tobytes()


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        if e.filename is None:  # a failed write() names no file: say which one
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    _checkpoint(f"wrote {path.name}")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- Where the index lives -----------------------------------------------------------------
#
#   index -> index.v-1764270000000000000     a symlink, replaced atomically by os.replace
#   index.v-1764270000000000000/             the complete, verified folder it points to
#   index.lock                               held by the one ingest that may write
#
# A build writes a new ``index.v-<ns>`` folder, fsyncs it, then points the link at it. A crash
# at any moment leaves the link at a whole folder (the old one or the new one) plus leftovers
# that the next ingest removes. ``index`` as a plain folder (older builds) is moved to a
# versioned name once; a crash in that one step leaves no ``index``, and then loading falls
# back to the newest versioned (or older ``.tmp-``/``.old-``) folder that verifies.


def _checkpoint(step: str) -> None:
    """Called after every write step of a build; the fault tests hook it to crash there."""


def _sibling(index_dir: Path, kind: str, ns: int | None = None) -> Path:
    return index_dir.with_name(f"{index_dir.name}.{kind}-{time.time_ns() if ns is None else ns}")


def _leftovers(index_dir: Path) -> list[tuple[Path, str, int]]:
    """Sibling folders and links a build may leave: (path, kind, nanoseconds in the name)."""
    found = []
    for kind in ("v", "tmp", "old", "link"):
        for path in index_dir.parent.glob(f"{glob.escape(index_dir.name)}.{kind}-*"):
            ns = path.name.rsplit("-", 1)[1]
            if ns.isdigit():
                found.append((path, kind, int(ns)))
    return found


def _fallbacks(index_dir: Path) -> list[Path]:
    """Complete-looking folders to load when ``index_dir`` is gone, best first: the newest
    build (``.v-``, or a ``.tmp-`` of older versions), then the index an old build moved away."""
    rows = [(kind != "old", ns, path) for path, kind, ns in _leftovers(index_dir)
            if kind != "link" and (path / "manifest.json").is_file()]  # fmt: skip
    return [path for _, _, path in sorted(rows, reverse=True)]


@contextmanager
def _writing(index_dir: Path):
    """Hold the ingest lock, bring back an index a crash left unlinked, remove leftovers."""
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = open(index_dir.with_name(f"{index_dir.name}.lock"), "a")  # noqa: SIM115
    except OSError as e:
        raise IndexWriteFailed(_write_failure(e, index_dir)) from e
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestRunning(
                f"another `rag ingest` is writing {index_dir}; wait for it to finish"
            ) from None
        try:
            _recover(index_dir)
            _clean(index_dir)
        except OSError as e:
            raise IndexWriteFailed(_write_failure(e, index_dir)) from e
        yield


def _recover(index_dir: Path) -> None:
    """A missing (or dangling) ``index_dir`` is pointed at the best complete leftover."""
    if index_dir.exists():
        return
    for candidate in _fallbacks(index_dir):
        try:
            verify(candidate, read_manifest(candidate))
        except (IndexMissing, IndexCorrupt):
            continue
        if not candidate.name.startswith(f"{index_dir.name}.v-"):
            version = _sibling(index_dir, "v")
            candidate.rename(version)
            candidate = version
        _point(index_dir, candidate)
        return


def _clean(index_dir: Path) -> None:
    """Remove every leftover sibling but the folder ``index_dir`` points to."""
    current = index_dir.resolve() if index_dir.is_symlink() else None
    for path, kind, _ in _leftovers(index_dir):
        if kind != "link" and path.resolve() == current:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _install(index_dir: Path, write: Callable[[Path], None]) -> None:
    """Write a new version folder with ``write`` and point ``index_dir`` at it atomically."""
    version = _sibling(index_dir, "v")
    installed = False
    try:
        version.mkdir()
        _checkpoint("created folder")
        write(version)
        _fsync_tree(version)
        _checkpoint("synced")
        _point(index_dir, version)
        installed = True
    except OSError as e:
        raise IndexWriteFailed(_write_failure(e, index_dir)) from e
    finally:
        if not installed:
            shutil.rmtree(version, ignore_errors=True)
    try:
        _checkpoint("swapped")
        _clean(index_dir)
        _checkpoint("cleaned")
    except OSError:
        pass  # the new index is in place; the next ingest removes what is left


def _point(index_dir: Path, version: Path) -> None:
    """Make ``index_dir`` a link to ``version`` in one atomic rename."""
    legacy = None
    if index_dir.is_dir() and not index_dir.is_symlink():  # a plain folder from an older build
        legacy = _sibling(index_dir, "v", _ns(version) - 1)
    elif index_dir.exists() and not index_dir.is_symlink():
        raise IndexWriteFailed(
            f"{index_dir} is a file, not an index folder: move it away and run `rag ingest` again"
        )
    link = _sibling(index_dir, "link")
    try:
        if legacy:
            index_dir.rename(legacy)
            _checkpoint("moved old folder")
        link.symlink_to(version.name)
        _checkpoint("linked")
        os.replace(link, index_dir)
    except BaseException:
        link.unlink(missing_ok=True)
        if legacy and not os.path.lexists(index_dir):
            legacy.rename(index_dir)  # put the old index back as it was
        raise
    with contextlib.suppress(OSError):  # the swap is done; this only hurries it to disk
        _fsync_dir(index_dir.parent)


def _ns(version: Path) -> int:
    return int(version.name.rsplit("-", 1)[1])


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder to disk, so a power cut after the swap finds them whole."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_failure(e: OSError, index_dir: Path) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space and run `rag ingest` again"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"make {index_dir.parent} writable and run `rag ingest` again"
    else:
        hint = "fix that and run `rag ingest` again"
    return (
        f"cannot write the index {index_dir}: {os_error_text(e)}; {hint} (the index in "
        "place was not changed)"
    )


def _folders(index_dir: Path) -> list[Path]:
    """The folders to try reading, best first: what ``index_dir`` points to, else the complete
    leftovers a crash left."""
    return [index_dir.resolve()] if index_dir.exists() else _fallbacks(index_dir)


def read_manifest(index_dir: Path) -> dict:
    """The manifest, checked against its schema (``rag.manifest``)."""
    path = index_dir / "manifest.json"
    if not path.is_file():
        raise IndexMissing(f"no index in {index_dir}: run `rag ingest` to build one")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{path} is not valid JSON ({e}); {REBUILD_HINT}") from e
    if isinstance(manifest, dict) and manifest.get("format") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index format {manifest.get('format')!r} in {index_dir} is not {FORMAT_VERSION}; "
            + REBUILD_HINT
        )
    found = problem(manifest)
    if found:
        raise IndexCorrupt(f"{path}: {found}; {REBUILD_HINT}")
    return manifest


def verify(index_dir: Path, manifest: dict) -> None:
    """Refuse a folder whose files or checksums disagree with its (schema-checked) manifest."""
    artifacts = manifest["artifacts"]
    if not artifacts:
        raise IndexCorrupt(f"{index_dir}/manifest.json lists no artifacts; {REBUILD_HINT}")
    for name, digest in artifacts.items():
        bad = artifact_problem(name)
        if bad:
            raise IndexCorrupt(f"{index_dir}/manifest.json: {bad}; {REBUILD_HINT}")
        path = index_dir / name
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing; {REBUILD_HINT}")
        if _sha256(path) != digest:
            raise IndexCorrupt(f"{path} does not match its checksum; {REBUILD_HINT}")


class Index:
    """A loaded, verified index: chunks, documents, FAISS and BM25 ready to query."""

    def __init__(
        self,
        path: Path,
        manifest: dict,
        trees: list[ClauseTree],
        chunks: list[Chunk],
        dense,
        bm25,
        terms: Terms,
        sentences: list[tuple[str, int, int]],
        sentence_vectors: np.ndarray,
    ):
        self.path, self.manifest = path, manifest
        self.trees = {t.doc.doc_id: t for t in trees}
        self.chunks, self.dense, self.bm25, self.terms = chunks, dense, bm25, terms
        self.sentence_rows = {span: row for row, span in enumerate(sentences)}
        self.sentence_vectors = sentence_vectors

    @classmethod
    def load(cls, index_dir: Path) -> Index:
        """Load and verify a built index; any inconsistency is an ``IndexCorrupt``.

        Reads the folder ``index_dir`` points to (or what a crash left, see ``_folders``); if
        an ingest swapped the link meanwhile and removed the old folder, reads the new one."""
        folders, errors = _folders(index_dir), []
        for _attempt in range(3):
            if not folders:
                raise IndexMissing(f"no index in {index_dir}: run `rag ingest` to build one")
            errors = []
            for folder in folders:
                try:
                    return cls._load(index_dir, folder)
                except (IndexMissing, IndexCorrupt) as e:
                    errors.append(e)
            again = _folders(index_dir)
            if again == folders:
                break
            folders = again
        raise errors[0]

    @classmethod
    def _load(cls, index_dir: Path, folder: Path) -> Index:
        manifest = read_manifest(folder)
        verify(folder, manifest)
        try:
            return cls._read(index_dir, folder, manifest)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise IndexCorrupt(f"{index_dir} cannot be read ({e}); {REBUILD_HINT}") from e

    @classmethod
    def _read(cls, index_dir: Path, folder: Path, manifest: dict) -> Index:
        import bm25s
        import faiss

        trees = [ClauseTree.from_dict(d) for d in _read_jsonl(folder / "documents.jsonl")]
        chunks = [Chunk.from_dict(d) for d in _read_jsonl(folder / "chunks.jsonl")]
        dense = faiss.read_index(str(folder / "dense.faiss"))
        spans = [(r["doc_id"], r["start"], r["end"])
                 for r in _read_jsonl(folder / "sentences.jsonl")]  # fmt: skip
        sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
        bm25 = bm25s.BM25.load(str(folder / "bm25"))
        words = (folder / "terms.txt").read_text(encoding="utf-8").split("\n")
        counts = manifest["counts"]
        found = {"documents": len(trees), "chunks": len(chunks), "vectors": dense.ntotal,
                 "sentences": len(spans)}  # fmt: skip
        if found != counts or bm25.scores["num_docs"] != len(chunks):
            raise IndexCorrupt(
                f"{index_dir} holds {found} but its manifest says {counts}; {REBUILD_HINT}"
            )
        dimension = manifest["model"]["dimension"]
        shape = (len(spans), dimension)
        if dense.d != dimension or sentence_vectors.shape != shape or (
                sentence_vectors.dtype != np.float32):  # fmt: skip
            raise IndexCorrupt(
                f"{index_dir} holds vectors of dimension {dense.d} and sentence vectors "
                f"{sentence_vectors.shape} {sentence_vectors.dtype}, but its model has "
                f"dimension {dimension} ({shape} float32 expected); {REBUILD_HINT}"
            )
        ids = {t.doc.doc_id for t in trees}
        strays = {c.doc_id for c in chunks} | {d for d, _, _ in spans}
        if not strays <= ids:
            raise IndexCorrupt(
                f"{index_dir} has passages of unknown documents {sorted(strays - ids)[:3]}; "
                + REBUILD_HINT
            )
        return cls(index_dir, manifest, trees, chunks, dense, bm25, Terms(words), spans,
                   sentence_vectors)  # fmt: skip

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Every stored vector by the hash of the text it embeds (for reuse when rebuilding)."""
        vectors = self.dense.reconstruct_n(0, self.dense.ntotal)
        known = {_text_key(passage_text(c)): v for c, v in zip(self.chunks, vectors, strict=True)}
        for (doc_id, s, e), row in self.sentence_rows.items():
            known[_text_key(sentence_text(self.trees[doc_id], s, e))] = self.sentence_vectors[row]
        return known

    def sentence_vector(self, doc_id: str, start: int, end: int) -> np.ndarray | None:
        row = self.sentence_rows.get((doc_id, start, end))
        return None if row is None else self.sentence_vectors[row]

    def tree(self, doc_id: str) -> ClauseTree:
        """A document by id, or by an unambiguous id prefix ("003")."""
        if doc_id in self.trees:
            return self.trees[doc_id]
        matches = [t for key, t in self.trees.items() if key.startswith(doc_id)] if doc_id else []
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(t.doc.doc_id for t in matches or self.trees.values())
        problem = "ambiguous document id" if matches else "unknown document"
        raise UnknownDocument(f"{problem} {doc_id!r}; documents: {known}")

    @functools.cached_property
    def idf(self) -> dict[str, float]:
        """BM25 inverse document frequency of every term in the vocabulary."""
        n = self.bm25.scores["num_docs"]
        df = np.diff(self.bm25.scores["indptr"])
        return {
            term: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5))
            for term, i in self.bm25.vocab_dict.items()
            if i < len(df)
        }

    def unseen_idf(self) -> float:
        """The weight of a term no chunk contains: rarer than anything in the corpus."""
        n = self.bm25.scores["num_docs"]
        return math.log(1 + (n + 0.5) / 0.5)
