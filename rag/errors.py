"""The few errors the library raises on purpose.

Each message says what to do next; the CLI prints it as one line, the API turns it into a 4xx/503.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class UnreadableFile(RagError):
    """A corpus file is binary, empty or in an encoding we cannot decode."""


class EmptyCorpus(RagError):
    """No readable document was found in the corpus folder."""


class IndexMissing(RagError):
    """No index has been built yet."""


class IndexCorrupt(RagError):
    """The index folder disagrees with its manifest (counts, checksums or format)."""


class UnknownDocument(RagError):
    """A document id that is not in the index."""


class BadQuestion(RagError):
    """An empty, oversized or otherwise unusable question."""


class DuplicateDocumentId(RagError):
    """Two corpus files would get the same document id; neither may replace the other."""

    status = 409


class IndexWriteFailed(RagError):
    """The index could not be written (disk full, no permission…); the old one is untouched."""

    status = 503


class IngestRunning(RagError):
    """Another ``rag ingest`` is writing the same index right now."""

    status = 409


def os_error_text(e: OSError) -> str:
    """An ``OSError`` as one short phrase: what went wrong, then where.

    >>> os_error_text(OSError(28, "No space left on device", "/srv/index.v-1/chunks.jsonl"))
    'No space left on device (/srv/index.v-1/chunks.jsonl)'
    """
    what = e.strerror or str(e) or type(e).__name__
    where = [str(f) for f in (e.filename, e.filename2) if f is not None]
    return f"{what} ({' → '.join(where)})" if where else what
