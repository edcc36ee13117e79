"""A built index, loaded and verified: documents, chunks, FAISS, BM25 and sentence vectors.

    index/
      manifest.json      format version, model, prompts, chunking, per-file sha256, counts,
                         sha256 of every other file, build time
      documents.jsonl    one ClauseTree per document (display text, clauses, annotations)
      chunks.jsonl       row i of every array below is line i here
      dense.faiss        inner-product FAISS index over normalised vectors (flat or HNSW)
      sentences.jsonl    every sentence span (doc id, start, end) …
      sentences.npy      … and its vector (float16, memory-mapped), for picking the best sentence
      frequencies.json   term → number of chunks holding it (the idf of answer scoring)
      bm25/              bm25s arrays over jieba terms
      terms.txt          unit names taught to jieba, one per line

``rag.build`` writes it, ``rag.store`` keeps it (versioned folders behind a link, lock,
checksums); the manifest is schema-checked and every array's shape checked on load.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from rag import store
from rag.chunk import passage_text
from rag.errors import IndexCorrupt, UnknownDocument
from rag.store import FORMAT_VERSION, REBUILD_HINT, read_manifest, verify
from rag.terms import Terms
from rag.types import Chunk, ClauseTree
from rag.zh import fold

SENTENCE_DTYPE = np.dtype(np.float16)  # half the bytes; cosines change by under 1e-3
STORED_DTYPES = (np.dtype(np.float32), SENTENCE_DTYPE)  # sentence vectors in formats 2 and 3

__all__ = ["FORMAT_VERSION", "Index", "read_manifest", "reusable_vectors", "verify"]


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
        frequencies: dict[str, int],
    ):
        self.path, self.manifest = path, manifest
        self.trees = {t.doc.doc_id: t for t in trees}
        self.chunks, self.dense, self.bm25, self.terms = chunks, dense, bm25, terms
        self.sentence_rows = {span: row for row, span in enumerate(sentences)}
        self.sentence_vectors = sentence_vectors
        self.frequencies = frequencies
        codes = {doc_id: n for n, doc_id in enumerate(self.trees)}
        self.chunk_documents = np.array([codes[c.doc_id] for c in chunks], dtype=np.int32)
        self._document_codes = codes

    @classmethod
    def load(cls, index_dir: Path) -> Index:
        """Load and verify a built index; any inconsistency is an ``IndexCorrupt``, no index
        an ``IndexMissing`` (both say to run ``rag ingest``)."""
        return store.load(
            index_dir, lambda folder, manifest: cls._read(index_dir, folder, manifest)
        )

    @classmethod
    def _read(cls, index_dir: Path, folder: Path, manifest: dict) -> Index:
        import bm25s
        import faiss

        trees = [ClauseTree.from_dict(d) for d in store.read_jsonl(folder / "documents.jsonl")]
        chunks = [Chunk.from_dict(d) for d in store.read_jsonl(folder / "chunks.jsonl")]
        dense = faiss.read_index(str(folder / "dense.faiss"))
        spans = _spans(folder)
        # memory-mapped: pages are read when a sentence is scored, and shared between processes
        sentence_vectors = np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False)
        frequencies = json.loads((folder / "frequencies.json").read_text(encoding="utf-8"))
        bm25 = bm25s.BM25.load(str(folder / "bm25"))
        words = (folder / "terms.txt").read_text(encoding="utf-8").split("\n")
        counts = manifest["counts"]
        found = {
            "documents": len(trees),
            "chunks": len(chunks),
            "vectors": dense.ntotal,
            "sentences": len(spans),
        }
        if found != counts or _bm25_size(bm25, frequencies) not in (None, len(chunks)):
            raise IndexCorrupt(
                f"{index_dir} holds {found} but its manifest says {counts}; {REBUILD_HINT}"
            )
        if not isinstance(frequencies, dict) or not all(
            isinstance(n, int) and 0 < n <= len(chunks) for n in frequencies.values()
        ):
            raise IndexCorrupt(f"{folder / 'frequencies.json'} is malformed; {REBUILD_HINT}")
        dimension = manifest["model"]["dimension"]
        shape = (len(spans), dimension)
        if (
            dense.d != dimension
            or sentence_vectors.shape != shape
            or sentence_vectors.dtype != SENTENCE_DTYPE
        ):
            raise IndexCorrupt(
                f"{index_dir} holds vectors of dimension {dense.d} and sentence vectors "
                f"{sentence_vectors.shape} {sentence_vectors.dtype}, but its model has "
                f"dimension {dimension} ({shape} {SENTENCE_DTYPE} expected); {REBUILD_HINT}"
            )
        ids = {t.doc.doc_id for t in trees}
        strays = {c.doc_id for c in chunks} | {d for d, _, _ in spans}
        if not strays <= ids:
            raise IndexCorrupt(
                f"{index_dir} has passages of unknown documents {sorted(strays - ids)[:3]}; "
                + REBUILD_HINT
            )
        return cls(
            index_dir,
            manifest,
            trees,
            chunks,
            dense,
            bm25,
            Terms(words),
            spans,
            sentence_vectors,
            frequencies,
        )

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Every stored vector by the hash of the text it embeds (for reuse when rebuilding)."""
        mode = self.manifest.get("sentence_vectors", "own")
        return _vectors_by_text(
            self.trees, self.chunks, self.dense, self.sentence_rows, self.sentence_vectors, mode
        )

    def sentence_vector(self, doc_id: str, start: int, end: int) -> np.ndarray | None:
        """A sentence's stored vector (as float32), None for a span that is not a sentence."""
        row = self.sentence_rows.get((doc_id, start, end))
        return None if row is None else np.asarray(self.sentence_vectors[row], dtype=np.float32)

    def chunk_sentences(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stored sentences lying wholly inside the chunks ``rows`` (a sentence a chunk
        cuts off belongs to none): their sentence rows, and for each the position in ``rows``
        of the chunk holding it. Vectorised: a few hundred chunks cost well under a millisecond.
        """
        keys, by_start, sentence_ends, chunk_keys, chunk_ends = self._sentence_keys
        rows = np.asarray(rows, dtype=np.int64)
        lo = np.searchsorted(keys, chunk_keys[rows, 0])  # the sentences starting inside
        hi = np.searchsorted(keys, chunk_keys[rows, 1])
        owner = np.repeat(np.arange(len(rows)), hi - lo)
        first = np.repeat(lo - np.concatenate([[0], np.cumsum(hi - lo)[:-1]]), hi - lo)
        sentences = by_start[first + np.arange(len(owner))]
        inside = sentence_ends[sentences] <= chunk_ends[rows][owner]
        return sentences[inside], owner[inside]

    @functools.cached_property
    def _sentence_keys(self):
        """Sentence and chunk spans as (document code << 32 | offset) keys, for
        ``chunk_sentences``: built once, vectorised (no loop per chunk and sentence per call)."""
        code = self._document_codes
        spans, rows = list(self.sentence_rows), np.fromiter(self.sentence_rows.values(), np.int64)
        doc = np.array([code[d] for d, _, _ in spans], dtype=np.int64) << 32
        keys = doc | np.array([s for _, s, _ in spans], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        sentence_ends = np.zeros(len(self.sentence_vectors), dtype=np.int64)
        sentence_ends[rows] = [e for _, _, e in spans]
        chunk_doc = self.chunk_documents.astype(np.int64) << 32
        bounds = np.array([(c.start, c.end) for c in self.chunks], dtype=np.int64).reshape(-1, 2)
        chunk_keys = chunk_doc[:, None] | bounds
        return keys[order], rows[order], sentence_ends, chunk_keys, bounds[:, 1]

    def chunk_mask(self, doc_ids) -> np.ndarray:
        """Which chunks belong to the documents ``doc_ids`` (a vectorised check: a filter
        costs microseconds, not a Python loop over every chunk)."""
        codes = [self._document_codes[d] for d in doc_ids if d in self._document_codes]
        return np.isin(self.chunk_documents, np.array(codes, dtype=np.int32))

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
        """BM25 (Robertson, as bm25s scores) inverse document frequency of every indexed term."""
        n = len(self.chunks)
        return {term: _idf(n, df) for term, df in self.frequencies.items()}

    def unseen_idf(self) -> float:
        """The weight of a term no chunk contains: rarer than anything in the corpus."""
        return _idf(len(self.chunks), 0)


def _idf(chunks: int, holding: int) -> float:
    """BM25's idf of a term ``holding`` of ``chunks`` chunks contain.

    >>> round(_idf(10, 1), 4), round(_idf(10, 0), 4), _idf(10, 10) < _idf(10, 1)
    (1.9924, 3.091, True)
    """
    return math.log(1 + (chunks - holding + 0.5) / (holding + 0.5))


def _bm25_size(bm25, frequencies: dict[str, int]) -> int | None:
    """How many chunks the BM25 arrays score (None for an index without any term)."""
    term = next(iter(frequencies), None) if isinstance(frequencies, dict) else None
    return None if term is None else len(bm25.get_scores([term]))


def _spans(folder: Path) -> list[tuple[str, int, int]]:
    return [
        (r["doc_id"], r["start"], r["end"]) for r in store.read_jsonl(folder / "sentences.jsonl")
    ]


def sentence_text(tree: ClauseTree, start: int, end: int) -> str:
    """What a sentence's vector embeds: its clause path, then the sentence, folded."""
    clause = tree.clause_at(start)
    path = clause.path_text if clause else tree.doc.title
    return fold(f"{path}：{tree.doc.text[start:end]}")


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def span_key(passage: str, start: int, end: int) -> str:
    """The key of a vector pooled over ``passage[start:end]`` in ``passage``'s forward pass: it
    depends on the whole passage, so a reused one is exactly what a fresh pass would give."""
    return text_key(f"{passage}\0{start}:{end}")


def sentence_sources(
    chunks: list[Chunk], spans: list[tuple[str, int, int]]
) -> list[tuple[int, int, int] | None]:
    """For each sentence span, the first chunk holding all of it and where the sentence sits in
    that chunk's ``passage_text`` (None when no chunk holds it).

    >>> c = Chunk("d#0", "d", "T", "一、", 10, 14, "甲。乙。", (), 4)
    >>> p = passage_text(c)
    >>> [(i, p[a:b]) for i, a, b in sentence_sources([c], [("d", 12, 14), ("d", 13, 15)])[:1]]
    [(0, '乙。')]
    >>> sentence_sources([c], [("d", 13, 15), ("x", 10, 12)])
    [None, None]
    """
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    out: list[tuple[int, int, int] | None] = []
    for doc_id, s, e in spans:
        found = next(
            (i for i in by_doc.get(doc_id, ()) if chunks[i].start <= s and e <= chunks[i].end),
            None,
        )
        if found is None:
            out.append(None)
            continue
        c = chunks[found]
        shift = len(passage_text(c)) - (c.end - c.start)  # title and path before the text
        out.append((found, shift + s - c.start, shift + e - c.start))
    return out


def _vectors_by_text(trees, chunks, dense, sentence_rows, sentence_vectors, mode="own") -> dict:
    vectors = dense.reconstruct_n(0, dense.ntotal)
    texts = [passage_text(c) for c in chunks]
    known = {text_key(t): v for t, v in zip(texts, vectors, strict=True)}
    spans = list(sentence_rows)
    sources = sentence_sources(chunks, spans) if mode == "span" else [None] * len(spans)
    for span, source in zip(spans, sources, strict=True):
        if mode == "span" and source is None:
            continue
        key = (
            span_key(texts[source[0]], source[1], source[2])
            if source
            else text_key(sentence_text(trees[span[0]], span[1], span[2]))
        )
        known[key] = np.asarray(sentence_vectors[sentence_rows[span]], dtype=np.float32)
    return known


def reusable_vectors(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """The vectors of the index in place by the hash of the text they embed, for a rebuild to
    reuse: also from an index of an older format (only the files this format shares with it
    are read), never from another model's. ``{}`` when there is nothing usable."""
    import faiss

    try:
        folder = index_dir.resolve(strict=True)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest["model"]["id"] != model_id:
            return {}
        store.verify(folder, manifest)
        trees = {
            t.doc.doc_id: t
            for t in map(ClauseTree.from_dict, store.read_jsonl(folder / "documents.jsonl"))
        }
        chunks = [Chunk.from_dict(d) for d in store.read_jsonl(folder / "chunks.jsonl")]
        dense = faiss.read_index(str(folder / "dense.faiss"))
        spans = _spans(folder)
        sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
        dimension = manifest["model"]["dimension"]
        if (
            dense.ntotal != len(chunks)
            or dense.d != dimension
            or sentence_vectors.shape != (len(spans), dimension)
            or sentence_vectors.dtype not in STORED_DTYPES
        ):
            return {}
        rows = {span: row for row, span in enumerate(spans)}
        mode = manifest.get("sentence_vectors", "own")
        return _vectors_by_text(trees, chunks, dense, rows, sentence_vectors, mode)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, IndexCorrupt):
        return {}
