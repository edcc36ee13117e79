"""Stage 5: chunks → a new index folder (``rag.store`` writes it atomically).

Orchestration only: read the corpus, chunk it, embed what is new (vectors of unchanged texts are
reused by content hash, also from an index of an older format), count terms for BM25 and write
each artifact. ``rag ingest`` with nothing changed does nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag import store
from rag.chunk import CountTokens, chunk_tree, passage_text
from rag.clauses import bare_heading
from rag.corpus import Reading, read_corpus
from rag.embed import Embedder, SpanEmbedder, pools_spans
from rag.errors import IndexCorrupt, IndexMissing
from rag.index import (
    SENTENCE_DTYPE,
    Index,
    reusable_vectors,
    sentence_sources,
    sentence_text,
    span_key,
    text_key,
)
from rag.settings import BadSetting
from rag.terms import Terms
from rag.types import Chunk, ClauseTree
from rag.zh import sentence_spans

EMBED_BATCH = 32
DENSE_KINDS = ("auto", "flat", "hnsw")
HNSW_NEIGHBOURS = 32  # M: graph links per vector

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    max_tokens: int = 256
    merge_below: int = 48
    dense: str = "auto"  # flat, hnsw, or auto: hnsw from ``hnsw_from`` chunks on
    hnsw_from: int = 100_000

    def as_manifest(self) -> dict:
        return {
            "tokenizer": "cl100k_base",
            "max_tokens": self.max_tokens,
            "merge_below": self.merge_below,
        }

    def dense_kind(self, chunks: int) -> str:
        """The FAISS index for ``chunks`` vectors: exact (flat) search costs time linear in the
        chunks, so ``auto`` switches to an HNSW graph from ``hnsw_from`` chunks on.

        >>> options = BuildOptions(hnsw_from=1000)
        >>> options.dense_kind(999), options.dense_kind(1000), BuildOptions("flat").dense_kind(9)
        ('flat', 'hnsw', 'flat')
        """
        if self.dense not in DENSE_KINDS:
            raise BadSetting(f"RAG_DENSE_INDEX={self.dense!r} is unknown: use flat, hnsw or auto")
        if self.dense != "auto":
            return self.dense
        return "hnsw" if chunks >= self.hnsw_from else "flat"


@dataclass
class BuildReport:
    path: Path
    changed: bool
    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # vectors computed in this build
    passes: int = 0  # texts run through the model for them (fewer when sentences are pooled)
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
    options.dense_kind(0)  # a bad setting is refused before any file is read
    trees, skipped = read_corpus(corpus, reading)
    files = {t.doc.source: {"sha256": t.doc.sha256, "doc_id": t.doc.doc_id} for t in trees}
    skips = [{"file": f, "reason": r} for f, r in skipped]
    with store.writing(index_dir):
        previous = _previous(index_dir)
        if previous and _unchanged(previous.manifest, files, skips, embedder, options):
            return BuildReport(index_dir, False, len(trees), len(previous.chunks), skipped=skipped)
        known = _known_vectors(previous, index_dir, embedder)
        del previous  # its arrays are not needed while writing the new index

        chunks = [
            c
            for t in trees
            for c in chunk_tree(t, count_tokens, options.max_tokens, options.merge_below)
        ]
        texts = [passage_text(c) for c in chunks]
        spans, sources = answerable_spans(trees, chunks)
        if pools_spans(embedder):
            vectors, sentence_vectors, embedded, passes = _embed_spans(
                texts, sources, known, embedder, progress
            )
        else:
            by_id = {t.doc.doc_id: t for t in trees}
            sentences = [sentence_text(by_id[d], s, e) for d, s, e in spans]
            all_vectors, embedded = _embed(texts + sentences, known, embedder, progress)
            vectors, sentence_vectors = all_vectors[: len(texts)], all_vectors[len(texts) :]
            passes = embedded
        del known
        terms = Terms(u for t in trees for r in t.responsibilities for u in r.lead + r.participants)
        chunk_terms = [terms(t) for t in texts]
        bm25 = _bm25(chunk_terms)
        frequencies = document_frequencies(chunk_terms)
        kind = options.dense_kind(len(chunks))
        dense = _dense_bytes(vectors, kind)

        def write(folder: Path) -> None:
            store.write_file(folder / "documents.jsonl", store.jsonl(t.to_dict() for t in trees))
            store.write_file(folder / "chunks.jsonl", store.jsonl(c.to_dict() for c in chunks))
            store.write_file(folder / "terms.txt", "\n".join(terms.words).encode())
            store.write_file(folder / "dense.faiss", dense)
            rows = ({"doc_id": d, "start": s, "end": e} for d, s, e in spans)
            store.write_file(folder / "sentences.jsonl", store.jsonl(rows))
            vectors16 = sentence_vectors.astype(SENTENCE_DTYPE)
            store.write_file(folder / "sentences.npy", store.npy(vectors16))
            store.write_file(folder / "frequencies.json", _frequencies_bytes(frequencies))
            bm25.save(str(folder / "bm25"), show_progress=False)
            store.checkpoint("wrote bm25")
            manifest = {
                "format": store.FORMAT_VERSION,
                **_settings(embedder, options, kind),
                "bm25": {
                    "k1": bm25.k1,
                    "b": bm25.b,
                    "vocabulary": len(frequencies),
                    "unit_words": len(terms.words),
                },
                "files": files,
                "skipped": skips,
                "counts": {
                    "documents": len(trees),
                    "chunks": len(chunks),
                    "vectors": len(chunks),
                    "sentences": len(spans),
                },
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(time.perf_counter() - started, 2),
            }
            store.write_manifest(folder, manifest)

        store.install(index_dir, write)
    return BuildReport(
        path=index_dir,
        changed=True,
        documents=len(trees),
        chunks=len(chunks),
        embedded=embedded,
        passes=passes,
        reused=len(texts) + len(spans) - embedded,
        skipped=skipped,
        seconds=round(time.perf_counter() - started, 2),
        vocabulary=len(frequencies),
        dimension=embedder.dimension,
    )


# The modules that turn files into chunks: when their code changes, a rebuild is needed (vectors
# of unchanged texts are reused, so it is cheap).
PIPELINE = (
    "readers",
    "normalize.py",
    "headings.py",
    "annotations.py",
    "clauses.py",
    "chunk.py",
    "zh.py",
    "corpus.py",
)


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


def document_frequencies(chunk_terms: list[list[str]]) -> dict[str, int]:
    """Term → how many chunks hold it (what BM25's idf is computed from; ``Index.idf``).

    >>> document_frequencies([["医保", "结算", "医保"], ["医保"]])
    {'医保': 2, '结算': 1}
    """
    counts: Counter[str] = Counter()
    for terms in chunk_terms:
        counts.update(set(terms))
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _frequencies_bytes(frequencies: dict[str, int]) -> bytes:
    return json.dumps(frequencies, ensure_ascii=False, separators=(",", ":")).encode()


def _settings(embedder: Embedder, options: BuildOptions, kind: str) -> dict:
    return {
        "pipeline": pipeline_version(),
        "model": {
            "id": embedder.model_id,
            "dimension": embedder.dimension,
            "prompts": embedder.prompts,
        },
        "chunking": options.as_manifest(),
        "dense": {"kind": kind, "metric": "inner_product"},
        "sentence_vectors": "span" if pools_spans(embedder) else "own",
    }


def _unchanged(
    manifest: dict, files: dict, skips: list[dict], embedder: Embedder, options: BuildOptions
) -> bool:
    """Same files, same skips, same settings: the index in place is what a build would write.
    (Same files and chunking give the same chunk count, so ``auto`` resolves as before.)"""
    kind = options.dense_kind(manifest["counts"]["chunks"])
    settings = _settings(embedder, options, kind)
    return (
        manifest["files"] == files
        and manifest["skipped"] == skips
        and all(manifest.get(k) == v for k, v in settings.items())
    )


def _previous(index_dir: Path) -> Index | None:
    """The current index if there is a valid one (a broken or older one is simply rebuilt)."""
    try:
        return Index.load(index_dir)
    except (IndexMissing, IndexCorrupt):
        return None


def _known_vectors(previous: Index | None, index_dir: Path, embedder: Embedder) -> dict:
    """Vectors a rebuild may reuse: the loaded previous index's, else an older format's."""
    if previous is None:
        return reusable_vectors(index_dir, embedder.model_id)
    return (
        previous.vectors_by_text() if previous.manifest["model"]["id"] == embedder.model_id else {}
    )


def _embed(
    texts: list[str], known: dict[str, np.ndarray], embedder: Embedder, progress: Progress | None
) -> tuple[np.ndarray, int]:
    # longest first: each batch pads to texts of its own length (faster, same vectors)
    todo = sorted({t for t in texts if text_key(t) not in known}, key=lambda t: (-len(t), t))
    fresh: dict[str, np.ndarray] = {}
    for i in range(0, len(todo), EMBED_BATCH):
        batch = todo[i : i + EMBED_BATCH]
        for text, vector in zip(batch, embedder.embed_documents(batch), strict=True):
            fresh[text_key(text)] = vector
        if progress:
            progress(min(i + EMBED_BATCH, len(todo)), len(todo))
    lookup = {**known, **fresh}
    vectors = np.stack([lookup[text_key(t)] for t in texts]).astype(np.float32)
    return vectors, len(todo)


def answerable_spans(
    trees: list[ClauseTree], chunks: list[Chunk]
) -> tuple[list[tuple[str, int, int]], list[tuple[int, int, int]]]:
    """The sentences that can answer, with where each sits in its chunk (``sentence_sources``).

    Answers are picked among the sentences of retrieved chunks, bare headings left out
    (``rag.answer.candidates``), so a sentence no chunk holds whole, or a bare heading, would
    get a vector no question ever reads: about a tenth of the sentences, not embedded."""
    every = [(t.doc.doc_id, s, e) for t in trees for s, e in sentence_spans(t.doc.text)]
    by_id = {t.doc.doc_id: t for t in trees}
    kept: list[tuple[str, int, int]] = []
    sources: list[tuple[int, int, int]] = []
    for span, source in zip(every, sentence_sources(chunks, every), strict=True):
        doc_id, s, e = span
        tree = by_id[doc_id]
        if source is not None and not bare_heading(tree.doc.text, tree.clause_at(s), s, e):
            kept.append(span)
            sources.append(source)
    return kept, sources


def _embed_spans(
    texts: list[str],
    sources: list[tuple[int, int, int]],
    known: dict[str, np.ndarray],
    embedder: SpanEmbedder,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Chunk and sentence vectors from one pass per chunk: a sentence's vector is pooled over
    its tokens in its chunk's pass. Returns both arrays, vectors computed, passes run."""
    keys = [span_key(texts[i], a, b) for i, a, b in sources]
    wanted: dict[str, set[tuple[int, int]]] = {}
    for text in texts:
        if text_key(text) not in known:
            wanted.setdefault(text, set())
    for (i, a, b), key in zip(sources, keys, strict=True):
        if key not in known:
            wanted.setdefault(texts[i], set()).add((a, b))
    todo = sorted(wanted, key=lambda t: (-len(t), t))  # longest first: little padding
    fresh: dict[str, np.ndarray] = {}
    for i in range(0, len(todo), EMBED_BATCH):
        batch = todo[i : i + EMBED_BATCH]
        own = [sorted(wanted[t]) for t in batch]
        vectors, parts = embedder.embed_passages(batch, own)
        for text, vector, places, pooled in zip(batch, vectors, own, parts, strict=True):
            fresh[text_key(text)] = vector
            for (a, b), part in zip(places, pooled, strict=True):
                fresh[span_key(text, a, b)] = part
        if progress:
            progress(min(i + EMBED_BATCH, len(todo)), len(todo))
    lookup = {**known, **fresh}
    vectors = np.stack([lookup[text_key(t)] for t in texts]).astype(np.float32)
    sentence_vectors = np.zeros((len(keys), embedder.dimension), dtype=np.float32)
    for row, key in enumerate(keys):
        sentence_vectors[row] = lookup[key]
    return vectors, sentence_vectors, len(fresh), len(todo)


def _bm25(corpus_terms: list[list[str]]):
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(corpus_terms, show_progress=False)
    return bm25


def _dense_bytes(vectors: np.ndarray, kind: str) -> bytes:
    """The FAISS index as bytes, so Python writes the file (and reports a full disk as OSError)."""
    import faiss

    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return faiss.serialize_index(index).tobytes()
