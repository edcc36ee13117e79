"""API keys and chat-page sessions, kept in a small state file outside the repository.

Keys are random (``pqa_`` + 32 url-safe bytes) and stored only as sha256 digests in
``<state_dir>/keys.json`` (mode 0600); ``rag keys create`` shows a key once. When the store holds
no key the API is open (and ``rag serve`` refuses non-loopback addresses unless told
``--allow-open``). Chat-page visitors get a signed, HttpOnly, SameSite=Strict session cookie
instead of a key, optionally after a page password.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import RagError

PREFIX = "pqa_"
SESSION_SECONDS = 12 * 3600


class UnknownKey(RagError):
    """No key with that id or prefix."""


class BrokenKeyFile(RagError):
    """keys.json cannot be read: fail closed rather than open."""

    status = 503


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str  # the first characters of the key, to recognise it in lists
    sha256: str
    created: str
    admin: bool = False  # may manage the document library (/admin, POST/DELETE /api/docs)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """The key file; re-read when it changes, so ``rag keys`` takes effect on a running server."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "keys.json"
        self._cache: tuple[tuple[int, int, int], list[ApiKey]] | None = None

    def keys(self) -> list[ApiKey]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if self._cache is None or self._cache[0] != stamp:
            try:
                rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
                keys = [ApiKey(**row) for row in rows]
            except (ValueError, KeyError, TypeError) as e:
                raise BrokenKeyFile(f"{self.path} is unreadable ({e}); fix or remove it") from e
            self._cache = (stamp, keys)
        return list(self._cache[1])

    def create(self, name: str, admin: bool = False) -> tuple[ApiKey, str]:
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=secrets.token_hex(4),
            name=name,
            prefix=secret[:12],
            sha256=_digest(secret),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            admin=admin,
        )
        self._write([*self.keys(), key])
        return key, secret

    def revoke(self, id_or_prefix: str) -> ApiKey:
        keys = self.keys()
        found = [k for k in keys if id_or_prefix in (k.id, k.prefix)]
        if len(found) != 1:
            raise UnknownKey(f"no key {id_or_prefix!r}; `rag keys list` shows ids and prefixes")
        self._write([k for k in keys if k is not found[0]])
        return found[0]

    def check(self, secret: str) -> ApiKey | None:
        """The key ``secret`` belongs to, compared in constant time."""
        digest = _digest(secret)
        return next((k for k in self.keys() if hmac.compare_digest(k.sha256, digest)), None)

    def _write(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": [asdict(k) for k in keys]}, f, indent=2)
        tmp.replace(self.path)
        self._cache = None


class Sessions:
    """Signed session cookies ``<expiry>.<hmac>``; the secret lives in the state folder.

    The page password (if any) is part of what is signed, so changing it ends every session.
    """

    def __init__(self, state_dir: Path):
        self.path = state_dir / "session.key"

    @functools.cached_property
    def _secret(self) -> bytes:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:  # created readable by us only, and only once even if two requests race
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
        return self.path.read_bytes()

    def issue(self, password: str = "", now: float | None = None) -> str:
        expiry = str(int((time.time() if now is None else now) + SESSION_SECONDS))
        return f"{expiry}.{self._sign(expiry, password)}"

    def valid(self, token: str | None, password: str = "", now: float | None = None) -> bool:
        expiry, _, signature = (token or "").partition(".")
        if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(signature.encode(), self._sign(expiry, password).encode())

    def _sign(self, expiry: str, password: str) -> str:
        message = f"{expiry}:{hashlib.sha256(password.encode()).hexdigest()}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
