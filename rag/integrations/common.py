"""What the three bots share: rejecting bad requests, AES-CBC, and formatting a reply."""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rag.errors import RagError
from rag.types import Answer


class Rejected(RagError):
    """A chat-tool request that is not answered: bad signature, stale, malformed, …"""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def not_configured(tool: str, variables: str) -> Rejected:
    return Rejected(404, f"the {tool} integration is not configured: set {variables}")


def same(given: str, expected: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (an attacker's choice)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class SeenIds:
    """Message or event ids already handled: tools retry deliveries they think failed."""

    def __init__(self, capacity: int = 10_000):
        self.capacity, self._ids, self._lock = capacity, OrderedDict(), threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True


def fresh(timestamp: float, max_skew: int, now: float | None = None) -> bool:
    """Is a request timestamp (seconds) within ``max_skew`` of our clock?"""
    return abs((time.time() if now is None else now) - timestamp) <= max_skew


def aes_cbc(key: bytes, iv: bytes, data: bytes, decrypt: bool) -> bytes:
    """AES-CBC without padding (callers pad: 企业微信 pads to 32 bytes, 飞书 to 16)."""
    if len(data) % 16:
        raise Rejected(400, "ciphertext is not a whole number of AES blocks")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(data) + op.finalize()


def pkcs7_pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block: int) -> bytes:
    """Remove PKCS#7 padding, checking every padding byte (a wrong key fails here)."""
    n = data[-1] if data else 0
    if not 1 <= n <= block or data[-n:] != bytes([n]) * n:
        raise Rejected(403, "decryption failed: wrong key or tampered message")
    return data[:-n]


def citation_url(public_url: str, c) -> str:
    return f"{public_url.rstrip('/')}/docs/{quote(c.doc_id)}?start={c.start}&end={c.end}#hl"


def chat_url(public_url: str, question: str, limit: int = 60) -> str:
    """A link that asks ``question`` on the chat page (long questions are cut: links in chat
    messages must stay short)."""
    return f"{public_url.rstrip('/')}/?q={quote(question[:limit])}"


def reply_text(answer: Answer, public_url: str, limit: int, markdown: bool = False,
               size=len) -> str:  # fmt: skip
    """The answer and its numbered references, within ``limit`` (as measured by ``size``).

    A reply over the limit keeps what references fit in half of it, cuts the answer, and ends
    with a link to the full answer on the chat page. A refusal says so (the answer text starts
    with 未在已收录的政策文件中找到相关规定) and lists the closest clauses as possibly related.
    """
    label = "依据" if answer.found else "可能相关的条款"
    refs = []
    for n, c in enumerate(answer.citations, start=1):
        where = f"《{c.title}》{c.clause_path or '正文'}"
        url = citation_url(public_url, c)
        refs.append(f"{n}. [{where}]({url})" if markdown else f"[{n}] {where}\n{url}")

    def tail() -> str:
        return f"\n\n{label}：\n" + "\n".join(refs) if refs else ""

    if size(answer.answer + tail()) <= limit:
        return answer.answer + tail()
    more = f"\n\n完整回答：{chat_url(public_url, answer.question)}"
    while refs and size(tail() + more) > limit // 2:
        refs.pop()
    room = limit - size(tail() + more + "…")
    body = answer.answer
    lo, hi = 0, len(body)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if size(body[:mid]) <= room else (lo, mid - 1)
    return f"{body[:lo]}…{tail()}{more}"


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))
