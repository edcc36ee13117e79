"""Every error the package raises on purpose, in one place, each with its HTTP status and code.

Each message says what to do next. The CLI prints it as one line and exits 1; the server's one
handler (``rag.server``) answers ``{"error": code, "detail": message}`` with ``status`` (and
``Retry-After`` when the error knows when to come back). ``code`` is the class name unless the
class sets one; clients branch on it, so a class that is renamed sets ``code`` to its old name
(tests/test_errors.py pins the codes clients already know).
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    status: int = 400
    code: str = "RagError"
    retry_after: float | None = None  # seconds until trying again may help, when known

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after


# --- Documents and the index -------------------------------------------------------------------


class UnreadableFile(RagError):
    """A corpus file is binary, empty or in an encoding we cannot decode."""


class EmptyCorpus(RagError):
    """No readable document was found in the corpus folder."""


class IndexMissing(RagError):
    """No index has been built yet."""

    status = 503


class IndexCorrupt(RagError):
    """The index folder disagrees with its manifest (counts, checksums or format)."""

    status = 503


class IndexWriteFailed(RagError):
    """The index could not be written (disk full, no permission…); the old one is untouched."""

    status = 503


class DuplicateDocumentId(RagError):
    """Two corpus files would get the same document id; neither may replace the other."""

    status = 409


class IngestRunning(RagError):
    """Another ``rag ingest`` is writing the same index right now."""

    status = 409


class UnknownDocument(RagError):
    """A document id that is not in the index."""

    status = 404


# --- Questions, options and settings -----------------------------------------------------------


class BadQuestion(RagError):
    """An empty, oversized or otherwise unusable question."""


class BadOption(RagError):
    """A command-line option with a value that cannot be used (a date, a list of numbers)."""


class HeldOutQuestions(RagError):
    """Calibration was asked to look at the questions kept for checking it."""


class BadSetting(RagError):
    """An environment variable with a value of the wrong type: the server is misconfigured."""

    status = 503


# --- Uploads to the library --------------------------------------------------------------------


class BadUpload(RagError):
    """An uploaded file that cannot join the library; nothing was changed."""


class UploadTooLarge(BadUpload):
    """An uploaded file over ``RAG_MAX_UPLOAD_BYTES``."""

    status = 413


class UploadConflict(BadUpload):
    """Another file already gives the same document id."""

    status = 409


# --- Access ------------------------------------------------------------------------------------


class NotReady(RagError):
    """The engine is still loading, or failed to load."""

    status = 503
    retry_after = 5.0


class Unauthorized(RagError):
    """API keys exist and the request carries neither a valid key nor a page session."""

    status = 401


class Forbidden(RagError):
    """A valid API key that may not manage the library."""

    status = 403


class NoApiKey(RagError):
    """No API key exists and the server is reachable beyond loopback without ``allow_open``."""

    status = 503


class TooManyRequests(RagError):
    """A rate limit was reached; ``retry_after`` says when to come back."""

    status = 429
    retry_after = 1.0


class UnknownKey(RagError):
    """No key with that id or prefix."""

    status = 404


class BrokenKeyFile(RagError):
    """keys.json cannot be read: fail closed rather than open."""

    status = 503


class StateNotWritable(RagError):
    """A state file could not be written (disk full, permissions); the old one is kept."""

    status = 503


class NoSessionSecret(RagError):
    """The session secret cannot be read or written: page sessions are refused (fail closed)."""

    status = 503


# --- What one client may cost (rag.limits) -----------------------------------------------------


class BodyTooLarge(RagError):
    """A request body over its cap (``RAG_MAX_BODY_BYTES``, uploads ``RAG_MAX_UPLOAD_BYTES``)."""

    status = 413


class BodyTimeout(RagError):
    """A request body that did not arrive within ``RAG_BODY_TIMEOUT``."""

    status = 408


class HeadTimeout(RagError):
    """Request headers that did not arrive within ``RAG_HEAD_TIMEOUT``."""

    status = 408


class Overloaded(RagError):
    """Every answer slot is busy and the bounded wait for one ran out."""

    status = 503
    retry_after = 1.0


class TooManyConnections(RagError):
    """The server holds ``RAG_MAX_CONNECTIONS`` open connections already."""

    status = 503
    retry_after = 1.0


# --- Chat-tool callbacks (rag.integrations) ----------------------------------------------------


class Rejected(RagError):
    """A chat-tool request that is not answered; the subclasses say why."""


class BadCallback(Rejected):
    """A malformed callback: not JSON/XML, wrong field types, bad base64 or padding."""


class UnverifiedCallback(Rejected):
    """A callback whose timestamp is missing or off our clock, or whose signature is missing."""

    status = 401


class SignatureMismatch(Rejected):
    """A signature, verification token, receive id or decryption key that does not match."""

    status = 403


class NotConfigured(Rejected):
    """The chat tool's settings are not set, so its route does not exist for callers."""

    status = 404


class Replayed(Rejected):
    """A callback already handled (the same timestamp and signature, or the same message id)."""

    status = 409


class CallbackTooLarge(Rejected):
    """A callback body over the small limit chat tools stay under."""

    status = 413


class IntegrationBroken(Rejected):
    """The chat tool cannot be served (replay store unusable, AES key malformed): fail closed."""

    status = 503


def os_error_text(e: OSError) -> str:
    """An ``OSError`` as one short phrase: what went wrong, then where.

    >>> os_error_text(OSError(28, "No space left on device", "/srv/index.v-1/chunks.jsonl"))
    'No space left on device (/srv/index.v-1/chunks.jsonl)'
    """
    what = e.strerror or str(e) or type(e).__name__
    where = [str(f) for f in (e.filename, e.filename2) if f is not None]
    return f"{what} ({' → '.join(where)})" if where else what
