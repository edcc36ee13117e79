"""API keys and chat-page sessions, kept in a small state file outside the repository.

Keys are random (``pqa_`` + 32 url-safe bytes) and stored only as sha256 digests in
``<state_dir>/keys.json`` (mode 0600); ``rag keys create`` shows a key once. When the store holds
no key the API is open (and ``rag serve`` refuses non-loopback addresses unless told
``--allow-open``). Chat-page visitors get a signed, HttpOnly, SameSite=Strict session cookie
instead of a key, optionally after a page password.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str  # the first characters of the key, to recognise it in lists
    sha256: str
    created: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """The key file; re-read when it changes, so ``rag keys`` takes effect on a running server."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "keys.json"
        self._cache: tuple[float, list[ApiKey]] | None = None

    def keys(self) -> list[ApiKey]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return []
        if self._cache is None or self._cache[0] != mtime:
            rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            self._cache = (mtime, [ApiKey(**row) for row in rows])
        return list(self._cache[1])

    def create(self, name: str) -> tuple[ApiKey, str]:
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=secrets.token_hex(4),
            name=name,
            prefix=secret[:12],
            sha256=_digest(secret),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
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
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys]}, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        self._cache = None


class Sessions:
    """Signed session cookies: ``<expiry>.<hmac>``, with a secret kept in the state folder."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "session.key"

    def _secret(self) -> bytes:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(secrets.token_bytes(32))
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
        return self.path.read_bytes()

    def issue(self, now: float | None = None) -> str:
        expiry = str(int((now or time.time()) + SESSION_SECONDS))
        return f"{expiry}.{self._sign(expiry)}"

    def valid(self, token: str | None, now: float | None = None) -> bool:
        expiry, _, signature = (token or "").partition(".")
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return False
        return hmac.compare_digest(signature, self._sign(expiry))

    def _sign(self, value: str) -> str:
        return hmac.new(self._secret(), value.encode(), hashlib.sha256).hexdigest()
