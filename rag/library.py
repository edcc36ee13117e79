"""The document library maintainers manage from the browser: upload, delete, re-ingest.

Documents are files in the corpus folder (``Settings.corpus_dir``). Every change starts one
background ingest; the served engine is swapped only once the new index is built, loaded and
verified, so questions keep being answered during a rebuild and no restart is needed. Changes
that arrive during a build are picked up by one more build right after it.

Nothing is lost: an upload is read in full (every reader's limits apply) before it is written,
and written atomically; a replaced or deleted file is moved to ``<state_dir>/trash/`` first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.corpus import doc_id_for, walk
from rag.errors import BadUpload, RagError, UnreadableFile, UploadConflict, UploadTooLarge
from rag.normalize import read_document
from rag.readers import CONVERT, READERS, SUFFIXES, sniff

if TYPE_CHECKING:
    from rag.deps import Runtime

log = logging.getLogger(__name__)
UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class IngestStatus:
    """What the background ingest is doing, for the admin page's progress bar."""

    state: str = "idle"  # idle, running, done, failed
    phase: str = ""  # 读取文件, 计算向量, 加载新索引
    done: int = 0
    total: int = 0
    started: float | None = None
    finished: float | None = None
    message: str = ""  # the build summary, or why it failed
    pending: bool = False  # another build will follow (changes arrived meanwhile)

    def to_dict(self) -> dict:
        return asdict(self)


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus folder: no folders, no control characters.

    >>> safe_name("../../etc/passwd.txt"), safe_name("C:\\\\报告\\\\通知 (1).docx")
    ('passwd.txt', '通知 (1).docx')
    >>> safe_name(".hidden.pdf")
    'hidden.pdf'
    """
    base = re.split(r"[/\\\\]", name or "")[-1]
    base = UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > 120:
        base = stem[: 120 - len(suffix) - 1] + "." + suffix
    if not base or not dot:
        raise BadUpload(f"{name!r} is not a usable file name: it needs a name and an extension")
    return base


class Library:
    """Uploads, deletions and the one background ingest of a running server."""

    def __init__(self, runtime: Runtime, max_bytes: int):
        self.runtime, self.max_bytes = runtime, max_bytes
        self.corpus: Path = runtime.settings.corpus_dir
        self.trash: Path = runtime.settings.state_dir / "trash"
        self._lock = threading.Lock()
        self._status = IngestStatus()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> IngestStatus:
        return self._status

    # ---- changes ----------------------------------------------------------------------------
    def add(self, files: list[tuple[str, bytes]]) -> list[str]:
        """Check every file, then write them all; a bad one changes nothing. Returns the names
        written (a name that exists already replaces that file: a new version)."""
        if not files:
            raise BadUpload("no file in the upload: choose one or more .docx, .pdf, .html or .txt")
        checked = [self._check(name, raw) for name, raw in files]
        names = [n for n, _ in checked]
        if len(set(names)) < len(names):
            raise UploadConflict("the upload names the same file twice")
        self.corpus.mkdir(parents=True, exist_ok=True)
        for name, raw in checked:
            target = self.corpus / name
            if target.exists():
                self._to_trash(target)
            tmp = self.corpus / f".{name}.upload-{os.getpid()}"
            with tmp.open("wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(target)
        self.reingest()
        return names

    def remove(self, source: str) -> None:
        """Move a document's file to the trash and rebuild without it."""
        path = (self.corpus / source).resolve()
        if not path.is_relative_to(self.corpus.resolve()) or not path.is_file():
            raise BadUpload(f"{source} is not in the library folder any more")
        self._to_trash(path)
        self.reingest()

    def _check(self, name: str, raw: bytes) -> tuple[str, bytes]:
        name = safe_name(name)
        if len(raw) > self.max_bytes:
            raise UploadTooLarge(
                f"{name} has {len(raw):,} bytes; the limit is "
                f"{self.max_bytes:,} (RAG_MAX_UPLOAD_BYTES)"
            )
        kind = sniff(raw, name)
        if kind in CONVERT:
            raise BadUpload(f"{name}: {CONVERT[kind]}")
        if kind not in READERS or SUFFIXES.get(Path(name).suffix.lower()) not in READERS:
            known = ", ".join(sorted(s for s, f in SUFFIXES.items() if f in READERS))
            raise BadUpload(f"{name}: not a supported document (use {known})")
        existing = walk(self.corpus)[0] if self.corpus.is_dir() else {}
        for other in existing:
            if doc_id_for(other) == doc_id_for(name) and other != name:
                raise UploadConflict(
                    f"{name} would get the same document id as {other}: "
                    "rename one of them or delete the old one first"
                )
        try:
            read_document(Path(name), raw=raw)  # every reader's checks, before anything is written
        except UnreadableFile as e:
            raise BadUpload(str(e)) from e
        return name, raw

    def _to_trash(self, path: Path) -> None:
        self.trash.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), self.trash / f"{time.strftime('%Y%m%d-%H%M%S')}-{path.name}")

    # ---- the background build ---------------------------------------------------------------
    def reingest(self) -> IngestStatus:
        """Start a build, or ask for one more after the running one."""
        with self._lock:
            if self._thread and self._thread.is_alive():
                self._status = replace(self._status, pending=True)
                return self._status
            self._status = IngestStatus("running", "读取文件", started=time.time())
            self._thread = threading.Thread(target=self._run, name="library-ingest", daemon=True)
            self._thread.start()
            return self._status

    def _run(self) -> None:
        while True:
            try:
                message = self._build()
                self._set(state="done", phase="", message=message, finished=time.time())
            except (RagError, OSError) as e:
                self._set(state="failed", message=str(e), finished=time.time())
            except Exception as e:  # the thread's last stop: report, never hang in "running"
                log.exception("library ingest failed")
                self._set(state="failed", message=f"{type(e).__name__}: {e}", finished=time.time())
            with self._lock:
                if not self._status.pending:
                    return
                self._status = IngestStatus("running", "读取文件", started=time.time())

    def _build(self) -> str:
        from rag.embed import make_embedder
        from rag.engine import Engine, ingest
        from rag.index import Index

        settings = self.runtime.settings
        current = self.runtime.engine
        if current is not None:
            embedder = current.embedder
        else:
            embedder = make_embedder(settings.embedder, settings.model_cache, settings)

        def progress(done: int, total: int) -> None:
            self._set(phase="计算向量", done=done, total=total)

        def reading(what: str, done: int, total: int) -> None:
            phase = "OCR识别" if what.endswith("OCR") else "读取文件"
            self._set(phase=f"{phase}：{what.removesuffix(' · OCR')}", done=done, total=total)

        report = ingest(settings, progress, embedder, reading)
        self._set(phase="加载新索引", done=0, total=0)
        engine = Engine(settings, Index.load(settings.index_dir), embedder)
        engine.retriever.search("预热", k=1)  # jieba and FAISS warm before the first question
        self.runtime.swap(engine)
        skipped = "".join(f"；跳过 {f}：{r}" for f, r in report.skipped)
        return f"已收录 {report.documents} 份文件，{report.chunks} 个段落{skipped}"

    def _set(self, **changes) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
