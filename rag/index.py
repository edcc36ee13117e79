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

A build writes into a temporary sibling folder and renames it into place, so an interrupted
build never leaves a half index. ``rag ingest`` with nothing changed does nothing; a changed
corpus re-embeds only chunks whose text is new (vectors are reused by content hash).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.chunk import CountTokens, chunk_tree, passage_text
from rag.clauses import parse_clauses
from rag.embed import Embedder
from rag.errors import EmptyCorpus, IndexCorrupt, IndexMissing, UnknownDocument, UnreadableFile
from rag.normalize import read_document
from rag.terms import Terms
from rag.types import Chunk, ClauseTree
from rag.zh import fold, sentence_spans

FORMAT_VERSION = 2
SUFFIXES = (".txt", ".md", ".text")
MAX_FILE_BYTES = 20_000_000
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


def read_corpus(corpus: Path) -> tuple[list[ClauseTree], list[tuple[str, str]]]:
    """Parse every text file in ``corpus``; unreadable ones are skipped with a reason."""
    if not corpus.is_dir():
        raise EmptyCorpus(f"corpus folder {corpus} does not exist: create it and add .txt files")
    trees, skipped, seen = [], [], set()
    for path in sorted(p for p in corpus.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() not in SUFFIXES:
            skipped.append((path.name, f"not a text file (expected {', '.join(SUFFIXES)})"))
        elif path.stat().st_size > MAX_FILE_BYTES:
            skipped.append((path.name, f"larger than {MAX_FILE_BYTES // 1_000_000} MB"))
        elif path.stem in seen:
            skipped.append((path.name, f"another file already has the id {path.stem}"))
        else:
            try:
                trees.append(parse_clauses(read_document(path)))
                seen.add(path.stem)
            except UnreadableFile as e:
                skipped.append((path.name, str(e).removeprefix(f"{path.name}: ")))
    if not trees:
        raise EmptyCorpus(f"no readable text files in {corpus}: add UTF-8 or GB18030 .txt files")
    return trees, skipped


def build_index(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    count_tokens: CountTokens,
    options: BuildOptions = BuildOptions(),
    progress: Progress | None = None,
) -> BuildReport:
    """Build (or bring up to date) the index for ``corpus`` in ``index_dir``."""
    started = time.perf_counter()
    trees, skipped = read_corpus(corpus)
    files = {t.doc.source: {"sha256": t.doc.sha256, "doc_id": t.doc.doc_id} for t in trees}
    previous = _previous(index_dir)
    settings = _settings(embedder, options)
    if previous and previous.manifest["files"] == files and _same_settings(previous, settings):
        return BuildReport(index_dir, False, len(trees), len(previous.chunks), skipped=skipped)

    chunks = [c for t in trees for c in chunk_tree(t, count_tokens, options.max_tokens,
                                                   options.merge_below)]  # fmt: skip
    texts = [passage_text(c) for c in chunks]
    spans = [(t.doc.doc_id, s, e) for t in trees for s, e in sentence_spans(t.doc.text)]
    by_id = {t.doc.doc_id: t for t in trees}
    sentences = [sentence_text(by_id[d], s, e) for d, s, e in spans]
    known = previous.vectors_by_text() if previous and _same_model(previous, embedder) else {}
    all_vectors, embedded = _embed(texts + sentences, known, embedder, progress)
    vectors, sentence_vectors = all_vectors[: len(texts)], all_vectors[len(texts) :]
    terms = Terms(u for t in trees for r in t.responsibilities for u in r.lead + r.participants)
    bm25 = _bm25([terms(t) for t in texts])

    tmp = index_dir.with_name(f"{index_dir.name}.tmp-{time.time_ns()}")
    tmp.mkdir(parents=True)
    try:
        _write_jsonl(tmp / "documents.jsonl", (t.to_dict() for t in trees))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in chunks))
        (tmp / "terms.txt").write_text("\n".join(terms.words), encoding="utf-8")
        _write_faiss(tmp / "dense.faiss", vectors, options.dense)
        _write_jsonl(tmp / "sentences.jsonl", ({"doc_id": d, "start": s, "end": e}
                                               for d, s, e in spans))  # fmt: skip
        np.save(tmp / "sentences.npy", sentence_vectors)
        bm25.save(str(tmp / "bm25"), show_progress=False)
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
            "skipped": [{"file": f, "reason": r} for f, r in skipped],
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
            str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        _swap(tmp, index_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildReport(
        index_dir, True, len(trees), len(chunks), embedded, len(texts) + len(spans) - embedded,
        skipped,
        round(time.perf_counter() - started, 2), len(bm25.vocab_dict), embedder.dimension,
    )  # fmt: skip


def _settings(embedder: Embedder, options: BuildOptions) -> dict:
    return {
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
    todo = sorted({t for t in texts if _text_key(t) not in known})
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


def _write_faiss(path: Path, vectors: np.ndarray, kind: str) -> None:
    import faiss

    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    elif kind == "flat":
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        raise ValueError(f"unknown dense index kind {kind!r}: use flat or hnsw")
    index.add(vectors)
    faiss.write_index(index, str(path))


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _swap(tmp: Path, index_dir: Path) -> None:
    """Put ``tmp`` where ``index_dir`` is; the old folder is removed only after the rename."""
    old = index_dir.with_name(f"{index_dir.name}.old-{time.time_ns()}")
    if index_dir.exists():
        index_dir.rename(old)
    tmp.rename(index_dir)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / "manifest.json"
    if not path.is_file():
        raise IndexMissing(f"no index in {index_dir}: run `rag ingest` to build one")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IndexCorrupt(f"{path} is not valid JSON ({e}); {REBUILD_HINT}") from e


def verify(index_dir: Path, manifest: dict) -> None:
    """Refuse a folder whose format, files, checksums or counts disagree with its manifest."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index format {manifest.get('format')} in {index_dir} is not {FORMAT_VERSION}; "
            + REBUILD_HINT
        )
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict) or not artifacts:
        raise IndexCorrupt(f"{index_dir}/manifest.json lists no artifacts; {REBUILD_HINT}")
    for name, digest in artifacts.items():
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
        """Load and verify a built index; any inconsistency is an ``IndexCorrupt``."""
        manifest = read_manifest(index_dir)
        verify(index_dir, manifest)
        try:
            return cls._read(index_dir, manifest)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise IndexCorrupt(f"{index_dir} cannot be read ({e}); {REBUILD_HINT}") from e

    @classmethod
    def _read(cls, index_dir: Path, manifest: dict) -> Index:
        import bm25s
        import faiss

        trees = [ClauseTree.from_dict(d) for d in _read_jsonl(index_dir / "documents.jsonl")]
        chunks = [Chunk.from_dict(d) for d in _read_jsonl(index_dir / "chunks.jsonl")]
        dense = faiss.read_index(str(index_dir / "dense.faiss"))
        spans = [(r["doc_id"], r["start"], r["end"])
                 for r in _read_jsonl(index_dir / "sentences.jsonl")]  # fmt: skip
        sentence_vectors = np.load(index_dir / "sentences.npy")
        bm25 = bm25s.BM25.load(str(index_dir / "bm25"))
        words = (index_dir / "terms.txt").read_text(encoding="utf-8").split("\n")
        counts = manifest["counts"]
        found = {"documents": len(trees), "chunks": len(chunks), "vectors": dense.ntotal,
                 "sentences": len(spans)}  # fmt: skip
        if (found != counts or bm25.scores["num_docs"] != len(chunks)
                or len(sentence_vectors) != len(spans)):  # fmt: skip
            raise IndexCorrupt(
                f"{index_dir} holds {found} but its manifest says {counts}; {REBUILD_HINT}"
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
