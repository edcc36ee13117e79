"""Where an index lives on disk: versioned folders behind a link, a lock, a checked manifest.

    index -> index.v-1764270000000000000     a symlink, replaced atomically by os.replace
    index.v-1764270000000000000/             the complete, verified folder it points to
    index.lock                               held by the one ingest that may write

A build writes a new ``index.v-<ns>`` folder, fsyncs it, then points the link at it. A crash
at any moment leaves the link at a whole folder (the old one or the new one) plus leftovers
that the next ingest removes. ``index`` as a plain folder (older builds) is moved to a
versioned name once; a crash in that one step leaves no ``index``, and then loading falls
back to the newest versioned (or older ``.tmp-``/``.old-``) folder that verifies.

This module knows files, not their meaning: ``rag.build`` decides what to write and
``rag.index`` how to read it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np

from rag.errors import IndexCorrupt, IndexMissing, IndexWriteFailed, IngestRunning, os_error_text
from rag.manifest import artifact_problem, problem

FORMAT_VERSION = 3  # 3: frequencies.json (idf from our own counts), float16 sentences.npy
REBUILD_HINT = "run `rag ingest` to rebuild it"

T = TypeVar("T")


def checkpoint(step: str) -> None:
    """Called after every write step of a build; the fault tests hook it to crash there."""


# --- Files -----------------------------------------------------------------------------------


def write_file(path: Path, data: bytes) -> None:
    """Write ``data``; a failed write names its file (a full disk reports none by itself)."""
    try:
        path.write_bytes(data)
    except OSError as e:
        if e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    checkpoint(f"wrote {path.name}")


def jsonl(rows: Iterable[object]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(folder: Path, manifest: dict) -> None:
    """Add the checksum of every file written so far and write the manifest, last: it is what
    makes the folder whole."""
    manifest = {
        **manifest,
        "artifacts": {
            p.relative_to(folder).as_posix(): sha256(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        },
    }
    write_file(
        folder / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    )


def read_manifest(index_dir: Path) -> dict:
    """The manifest, checked against its schema (``rag.manifest``)."""
    path = index_dir / "manifest.json"
    if not path.is_file():
        raise IndexMissing(f"no index in {index_dir}: run `rag ingest` to build one")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"{path} is not valid JSON ({e}); {REBUILD_HINT}") from e
    if isinstance(manifest, dict) and manifest.get("format") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index format {manifest.get('format')!r} in {index_dir} is not {FORMAT_VERSION}; "
            + REBUILD_HINT
        )
    found = problem(manifest)
    if found:
        raise IndexCorrupt(f"{path}: {found}; {REBUILD_HINT}")
    return manifest


def verify(index_dir: Path, manifest: dict) -> None:
    """Refuse a folder whose files or checksums disagree with its (schema-checked) manifest."""
    artifacts = manifest["artifacts"]
    if not artifacts:
        raise IndexCorrupt(f"{index_dir}/manifest.json lists no artifacts; {REBUILD_HINT}")
    for name, digest in artifacts.items():
        bad = artifact_problem(name)
        if bad:
            raise IndexCorrupt(f"{index_dir}/manifest.json: {bad}; {REBUILD_HINT}")
        path = index_dir / name
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing; {REBUILD_HINT}")
        if sha256(path) != digest:
            raise IndexCorrupt(f"{path} does not match its checksum; {REBUILD_HINT}")


# --- Reading ---------------------------------------------------------------------------------


def load(index_dir: Path, read: Callable[[Path, dict], T]) -> T:
    """``read(folder, manifest)`` on the verified folder ``index_dir`` points to (or on what a
    crash left, see ``_folders``); if an ingest swapped the link meanwhile and removed the old
    folder, on the new one. Anything ``read`` cannot make sense of is an ``IndexCorrupt``."""
    folders, errors = _folders(index_dir), []
    for _attempt in range(3):
        if not folders:
            raise IndexMissing(f"no index in {index_dir}: run `rag ingest` to build one")
        errors = []
        for folder in folders:
            try:
                manifest = read_manifest(folder)
                verify(folder, manifest)
                try:
                    return read(folder, manifest)
                except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
                    raise IndexCorrupt(f"{index_dir} cannot be read ({e}); {REBUILD_HINT}") from e
            except (IndexMissing, IndexCorrupt) as e:
                errors.append(e)
        again = _folders(index_dir)
        if again == folders:
            break
        folders = again
    raise errors[0]


def _folders(index_dir: Path) -> list[Path]:
    """The folders to try reading, best first: what ``index_dir`` points to, else the complete
    leftovers a crash left."""
    return [index_dir.resolve()] if index_dir.exists() else _fallbacks(index_dir)


# --- Writing ---------------------------------------------------------------------------------


@contextmanager
def writing(index_dir: Path) -> Iterator[None]:
    """Hold the ingest lock, bring back an index a crash left unlinked, remove leftovers."""
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = open(index_dir.with_name(f"{index_dir.name}.lock"), "a")  # noqa: SIM115
    except OSError as e:
        raise IndexWriteFailed(_write_failure(e, index_dir)) from e
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestRunning(
                f"another `rag ingest` is writing {index_dir}; wait for it to finish"
            ) from None
        try:
            _recover(index_dir)
            _clean(index_dir)
        except OSError as e:
            raise IndexWriteFailed(_write_failure(e, index_dir)) from e
        yield


def install(index_dir: Path, write: Callable[[Path], None]) -> None:
    """Write a new version folder with ``write`` and point ``index_dir`` at it atomically.

    Raises ``IndexWriteFailed`` (one line) when the disk is full or not writable; the index in
    place then stays as it was and no temporary folder is left."""
    version = _sibling(index_dir, "v")
    installed = False
    try:
        version.mkdir()
        checkpoint("created folder")
        write(version)
        _fsync_tree(version)
        checkpoint("synced")
        _point(index_dir, version)
        installed = True
    except OSError as e:
        raise IndexWriteFailed(_write_failure(e, index_dir)) from e
    finally:
        if not installed:
            shutil.rmtree(version, ignore_errors=True)
    try:
        checkpoint("swapped")
        _clean(index_dir)
        checkpoint("cleaned")
    except OSError:
        pass  # the new index is in place; the next ingest removes what is left


def _sibling(index_dir: Path, kind: str, ns: int | None = None) -> Path:
    return index_dir.with_name(f"{index_dir.name}.{kind}-{time.time_ns() if ns is None else ns}")


def _leftovers(index_dir: Path) -> list[tuple[Path, str, int]]:
    """Sibling folders and links a build may leave: (path, kind, nanoseconds in the name)."""
    found = []
    for kind in ("v", "tmp", "old", "link"):
        for path in index_dir.parent.glob(f"{glob.escape(index_dir.name)}.{kind}-*"):
            ns = path.name.rsplit("-", 1)[1]
            if ns.isdigit():
                found.append((path, kind, int(ns)))
    return found


def _fallbacks(index_dir: Path) -> list[Path]:
    """Complete-looking folders to load when ``index_dir`` is gone, best first: the newest
    build (``.v-``, or a ``.tmp-`` of older versions), then the index an old build moved away."""
    rows = [
        (kind != "old", ns, path)
        for path, kind, ns in _leftovers(index_dir)
        if kind != "link" and (path / "manifest.json").is_file()
    ]
    return [path for _, _, path in sorted(rows, reverse=True)]


def _recover(index_dir: Path) -> None:
    """A missing (or dangling) ``index_dir`` is pointed at the best complete leftover."""
    if index_dir.exists():
        return
    for candidate in _fallbacks(index_dir):
        try:
            verify(candidate, read_manifest(candidate))
        except (IndexMissing, IndexCorrupt):
            continue
        if not candidate.name.startswith(f"{index_dir.name}.v-"):
            version = _sibling(index_dir, "v")
            candidate.rename(version)
            candidate = version
        _point(index_dir, candidate)
        return


def _clean(index_dir: Path) -> None:
    """Remove every leftover sibling but the folder ``index_dir`` points to."""
    current = index_dir.resolve() if index_dir.is_symlink() else None
    for path, kind, _ in _leftovers(index_dir):
        if kind != "link" and path.resolve() == current:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _point(index_dir: Path, version: Path) -> None:
    """Make ``index_dir`` a link to ``version`` in one atomic rename."""
    legacy = None
    if index_dir.is_dir() and not index_dir.is_symlink():  # a plain folder from an older build
        legacy = _sibling(index_dir, "v", _ns(version) - 1)
    elif index_dir.exists() and not index_dir.is_symlink():
        raise IndexWriteFailed(
            f"{index_dir} is a file, not an index folder: move it away and run `rag ingest` again"
        )
    link = _sibling(index_dir, "link")
    try:
        if legacy:
            index_dir.rename(legacy)
            checkpoint("moved old folder")
        link.symlink_to(version.name)
        checkpoint("linked")
        os.replace(link, index_dir)
    except BaseException:
        link.unlink(missing_ok=True)
        if legacy and not os.path.lexists(index_dir):
            legacy.rename(index_dir)  # put the old index back as it was
        raise
    with contextlib.suppress(OSError):  # the swap is done; this only hurries it to disk
        _fsync_dir(index_dir.parent)


def _ns(version: Path) -> int:
    return int(version.name.rsplit("-", 1)[1])


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder to disk, so a power cut after the swap finds them whole."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_failure(e: OSError, index_dir: Path) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space and run `rag ingest` again"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"make {index_dir.parent} writable and run `rag ingest` again"
    else:
        hint = "fix that and run `rag ingest` again"
    return (
        f"cannot write the index {index_dir}: {os_error_text(e)}; {hint} (the index in "
        "place was not changed)"
    )
