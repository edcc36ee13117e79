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


class NoMatchingDocument(RagError):
    """Search filters that leave no document to search."""
