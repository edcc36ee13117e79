"""What the three bots share: rejecting bad requests before any real work, remembering which
requests were already handled, AES-CBC (the reply text comes from ``rag.replies``).

Chat-tool callbacks are reachable from the internet, so everything a request carries is parsed
bounded: timestamps are 1–13 ASCII digits, bodies at most ``MAX_BODY`` bytes (counted as they
arrive, whatever Content-Length says), JSON and XML at most ``MAX_DEPTH`` levels deep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi import Request

from rag.answer import clarify
from rag.engine import Engine
from rag.errors import (
    BadCallback,
    CallbackTooLarge,
    IntegrationBroken,
    NotConfigured,
    SignatureMismatch,
    UnverifiedCallback,
)
from rag.question import MAX_QUESTION_CHARS, visible
from rag.types import Answer

MAX_BODY = 64 * 1024  # bytes of a callback body: real ones are a few KiB
MAX_DEPTH = 32  # nesting levels of callback JSON or XML: real ones have fewer than 6
DAY = 24 * 3600


def not_configured(tool: str, variables: str) -> NotConfigured:
    return NotConfigured(f"the {tool} integration is not configured: set {variables}")


def same(given: str, expected: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (an attacker's choice)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def digits(value: str | None, limit: int = 13) -> int | None:
    """The number spelled by 1–``limit`` ASCII digits, else None.

    ``str.isdigit`` alone lets through ``²`` (``int`` then fails), and a number of thousands
    of digits makes ``int`` raise or float arithmetic overflow; 13 digits hold milliseconds
    until the year 2286.

    >>> digits("1700000000"), digits("²"), digits("9" * 14), digits(""), digits("-1")
    (1700000000, None, None, None, None)
    >>> digits(" 1"), digits("1\\u202e"), digits("١٢٣"), digits(None)
    (None, None, None, None)
    """
    if value and len(value) <= limit and value.isascii() and value.isdigit():
        return int(value)
    return None


def fresh(timestamp: float, max_skew: int, now: float | None = None) -> bool:
    """Is a request timestamp (seconds) within ``max_skew`` of our clock?"""
    return abs((time.time() if now is None else now) - timestamp) <= max_skew


def check_time(value: str | None, max_skew: int, what: str, millis: bool = False) -> None:
    """Refuse (401) a timestamp that is not 1–13 digits or is more than ``max_skew`` s off."""
    number = digits(value)
    if number is None or not fresh(number / 1000 if millis else number, max_skew):
        raise UnverifiedCallback(
            f"{what} is missing, not a number of 1–13 digits, or more than "
            f"{max_skew} s from the server's clock (check NTP)"
        )


def check_token(value: str | None, what: str, limit: int = 128) -> str:
    """A nonce or signature parameter: 1–``limit`` visible ASCII characters, else 400.

    >>> check_token("1372623149", "nonce")
    '1372623149'
    """
    visible = bool(value) and value.isascii() and value.isprintable() and " " not in value
    if not visible or len(value) > limit:
        raise BadCallback(f"{what} must be 1–{limit} visible ASCII characters")
    return value


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes.

    A Content-Length over the limit is refused before reading; otherwise the bytes are counted
    as they arrive, since a header can lie and a chunked body has none.
    """
    declared = digits(request.headers.get("content-length"))
    too_big = CallbackTooLarge(f"the request body is over {limit} bytes; chat tools send less")
    if declared is not None and declared > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


_ESCAPE = re.compile(r"\\.", re.S)
_STRING = re.compile(r'"[^"]*"')  # linear: escapes are gone, so no quote is ever retried
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_PAIR = re.compile(r"\[\]|\{\}")


def nesting_within(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Does JSON ``text`` nest at most ``max_depth`` levels? A few regex passes in C, run
    before ``json.loads`` (which would recurse once per level). Unbalanced text counts as too
    deep: it is not valid JSON anyway.

    >>> text = '{"a": [1, {"b": "[[[["}]}'
    >>> nesting_within(text, 3), nesting_within(text, 2), nesting_within('[[["]"]]]', 2)
    (True, False, False)
    >>> nesting_within("[" * 100_000, 32), nesting_within('"\\\\"[[', 32)
    (False, False)
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    if re.search(rf"[\[{{]{{{max_depth + 1}}}", brackets):  # the usual attack: a long run
        return False
    for _ in range(max_depth):
        brackets, removed = _PAIR.subn("", brackets)
        if not removed:
            break
    return not brackets


def load_json(data: bytes | str, what: str = "body") -> object:
    """Strict UTF-8 JSON, at most ``MAX_DEPTH`` levels deep; anything else is a 400."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if not nesting_within(text):
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        return json.loads(text)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError too
        raise BadCallback(f"the {what} is not valid UTF-8 JSON: {e}") from e


def question_text(text: object, limit: int = MAX_QUESTION_CHARS) -> str:
    """A chat message as a question: control, format (bidi, zero-width) and lone-surrogate
    characters become spaces, so hostile text still gets an answer instead of an error;
    "" when there is nothing to ask.

    >>> question_text("\\u202e谁负责\\x00医保？\\u200b ")
    '谁负责 医保？'
    >>> question_text(["x"]), question_text("\\ud800"), question_text("问" * 600) == "问" * 500
    ('', '', True)
    """
    if not isinstance(text, str):
        return ""
    head = text.lstrip()[: 4 * limit]  # a 64 KiB message is not read character by character
    return visible(head)[:limit].strip()


def ask_or_clarify(engine: Engine, question: str, message: object) -> Answer:
    """The engine's answer; a message with nothing visible in it (only control or zero-width
    characters) is asked for a fuller question, like the chat page would."""
    return engine.ask(question) if question else clarify(str(message)[:20], 0.0)


def nothing_to_ask(message: object) -> bool:
    """Not a text message, or a blank one: acknowledged without a reply."""
    return not isinstance(message, str) or not message.strip()


class SeenIds:
    """Requests already handled, remembered in a small SQLite file in ``RAG_STATE_DIR`` until
    they expire, so that a tool's retry or an attacker's replay is recognised after a restart
    and across worker processes. Keys are stored as SHA-256 digests (fixed size, nothing
    readable); the file is trimmed to ``capacity`` rows."""

    def __init__(self, path: Path, ttl: float = DAY, capacity: int = 100_000):
        self.path, self.ttl, self.capacity = path, ttl, capacity
        self._ready, self._lock = False, threading.Lock()

    def first_time(self, key: str, now: float | None = None) -> bool:
        """Record ``key``; False if it was recorded before and has not expired."""
        now = time.time() if now is None else now
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        try:
            with closing(self._connect()) as db:
                db.execute("DELETE FROM seen WHERE expires < ?", (now,))
                added = db.execute(
                    "INSERT OR IGNORE INTO seen (key, expires) VALUES (?, ?)",
                    (digest, now + self.ttl),
                )
                if added.rowcount == 1 and added.lastrowid % 256 == 0:
                    db.execute(
                        "DELETE FROM seen WHERE rowid IN (SELECT rowid FROM seen "
                        "ORDER BY expires DESC LIMIT -1 OFFSET ?)",
                        (self.capacity,),
                    )
                return added.rowcount == 1
        except (sqlite3.Error, OSError) as e:  # fail closed: without the store, answer nothing
            raise IntegrationBroken(
                f"the replay store {self.path} cannot be used ({e}); check "
                "that RAG_STATE_DIR is writable, or delete the file"
            )

    def __len__(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT count(*) FROM seen").fetchone()[0]

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, expires REAL)")
            db.execute("CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires)")
            self._ready = True
        return db


def seen_ids(request: Request) -> SeenIds:
    """The app's one replay store: ids are kept a day, or twice the allowed clock skew if that
    is longer (a request is fresh from ``skew`` before to ``skew`` after our clock)."""
    state = request.app.state
    if not hasattr(state, "bot_seen_ids"):
        settings = state.runtime.settings
        state.bot_seen_ids = SeenIds(
            settings.state_dir / "bot-replays.sqlite3", ttl=max(DAY, 2 * settings.max_clock_skew)
        )
    return state.bot_seen_ids


def aes_cbc(key: bytes, iv: bytes, data: bytes, decrypt: bool) -> bytes:
    """AES-CBC without padding (callers pad: 企业微信 pads to 32 bytes, 飞书 to 16)."""
    if len(data) % 16:
        raise BadCallback("ciphertext is not a whole number of AES blocks")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(data) + op.finalize()


def pkcs7_pad(data: bytes, block: int) -> bytes:
    padder = padding.PKCS7(block * 8).padder()
    return padder.update(data) + padder.finalize()


def pkcs7_unpad(data: bytes, block: int) -> bytes:
    """Remove PKCS#7 padding, checking every padding byte (a wrong key fails here)."""
    unpadder = padding.PKCS7(block * 8).unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError as e:
        raise SignatureMismatch("decryption failed: wrong key or tampered message") from e


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))
