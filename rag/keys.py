"""API keys and chat-page sessions, kept in small state files outside the repository.

Keys are random (``pqa_`` + 32 url-safe bytes) and stored only as sha256 digests in
``<state_dir>/keys.json`` (mode 0600); ``rag keys create`` shows a key once. When the store holds
no key the API is open — but only on a loopback address or with ``--allow-open``, checked at
every request (``rag.deps``). Chat-page visitors get a signed, HttpOnly, SameSite=Lax session
cookie instead of a key, optionally after a page password. Both files are written atomically
(temporary file, fsync, rename), so a full disk leaves the old file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import BrokenKeyFile, NoSessionSecret, StateNotWritable, UnknownKey

PREFIX = "pqa_"
SESSION_SECONDS = 12 * 3600
SECRET_BYTES = 32


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, readable by us only, or raise
    ``StateNotWritable`` and leave the old file (if any) as it was."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        _fsync_dir(path.parent)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateNotWritable(
            f"cannot write {path}: {e.strerror or e}; free disk space or fix the permissions "
            "of RAG_STATE_DIR, then try again"
        ) from e


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


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
        except OSError as e:
            raise BrokenKeyFile(f"{self.path} is unreadable ({e.strerror}); fix it") from e
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if self._cache is None or self._cache[0] != stamp:
            try:
                rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
                keys = [ApiKey(**row) for row in rows]
            except (OSError, ValueError, KeyError, TypeError) as e:
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
        text = json.dumps({"keys": [asdict(k) for k in keys]}, indent=2, ensure_ascii=False)
        write_private(self.path, text.encode("utf-8"))
        self._cache = None


TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{64})")


class Sessions:
    """Signed session cookies ``<expiry>.<nonce>.<hmac>``; the secret lives in the state folder.

    The page password (if any) is part of what is signed, so changing it ends every session.
    The nonce makes each session distinct (rate limits count per session). A cookie is checked
    against its exact shape before any number is parsed or anything is hashed.
    """

    def __init__(self, state_dir: Path):
        self.path = state_dir / "session.key"
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def secret(self) -> bytes:
        """The 32-byte secret, created on first use; a short or unreadable file is replaced.
        Raises ``NoSessionSecret`` when no full-length secret can be had."""
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def _load(self) -> bytes:
        try:
            key = self.path.read_bytes()
        except FileNotFoundError:
            key = b""
        except OSError as e:
            raise NoSessionSecret(
                f"cannot read {self.path} ({e.strerror}); fix its permissions, or remove it"
            ) from e
        if len(key) == SECRET_BYTES:
            return key
        try:  # missing, or cut short when the disk filled: never sign with less than 32 bytes
            write_private(self.path, secrets.token_bytes(SECRET_BYTES))
            key = self.path.read_bytes()
        except (StateNotWritable, OSError) as e:
            raise NoSessionSecret(f"chat-page sessions are off: {e}") from e
        if len(key) != SECRET_BYTES:
            raise NoSessionSecret(f"{self.path} is not a {SECRET_BYTES}-byte secret; remove it")
        return key

    def issue(self, password: str = "", now: float | None = None) -> str:
        """A new session token (raises ``NoSessionSecret`` when sessions are off)."""
        expiry = str(int((time.time() if now is None else now) + SESSION_SECONDS))
        nonce = secrets.token_hex(8)
        return f"{expiry}.{nonce}.{self._sign(expiry, nonce, password)}"

    def valid(self, token: str | None, password: str = "", now: float | None = None) -> bool:
        """Is ``token`` one we issued, unexpired, under this password? False when sessions are
        off (fail closed)."""
        match = TOKEN.fullmatch(token or "") if token and len(token) <= 100 else None
        if match is None:
            return False
        expiry, nonce, signature = match.groups()
        if int(expiry) < (time.time() if now is None else now):
            return False
        try:
            expected = self._sign(expiry, nonce, password)
        except NoSessionSecret:
            return False
        return hmac.compare_digest(signature.encode(), expected.encode())

    def _sign(self, expiry: str, nonce: str, password: str) -> str:
        message = f"{expiry}:{nonce}:{hashlib.sha256(password.encode()).hexdigest()}".encode()
        return hmac.new(self.secret(), message, hashlib.sha256).hexdigest()
