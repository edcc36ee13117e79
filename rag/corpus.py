"""The corpus folder → the documents to index, each with a stable id, and every skip explained.

The walk goes into sub-folders, leaves hidden files and folders alone, and reads only regular
files that resolve inside the corpus folder: a link out of it (``ln -s /etc/passwd a.txt``) is
skipped with a warning, never read. Ids come from the path relative to the corpus folder
(``sub/a.txt`` → ``sub-a``; a top-level file keeps its stem), so they are stable; two files
that would share an id are an error naming both, never one silently replacing the other.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

from rag.clauses import parse_clauses
from rag.errors import DuplicateDocumentId, EmptyCorpus, UnreadableFile
from rag.normalize import read_document
from rag.readers import CONVERT, READERS, SUFFIXES, Progress, sniff
from rag.types import ClauseTree

MAX_FILE_BYTES = 20_000_000
UNSAFE = re.compile(r"[^\w.-]+")

Skipped = list[tuple[str, str]]  # (path relative to the corpus, reason)


def doc_id_for(relative: str) -> str:
    """A URL-safe id from a path relative to the corpus: the stem, folders joined by ``-``.

    >>> doc_id_for("003_fb8b099e12eb13fd.txt"), doc_id_for("区县/江北 通知.md")
    ('003_fb8b099e12eb13fd', '区县-江北_通知')
    """
    parts = PurePosixPath(relative).with_suffix("").parts
    return "-".join(UNSAFE.sub("_", part) for part in parts)


Reading = Callable[[str, int, int], None]  # (what is being read, done, total)


def read_corpus(corpus: Path, reading: Reading | None = None) -> tuple[list[ClauseTree], Skipped]:
    """Parse every document under ``corpus``; what cannot be read is skipped with a reason.

    ``reading`` hears of every file (name, files done, files) and of every page read by OCR
    (name + "OCR", pages done, pages), so long reads show progress.
    Raises ``DuplicateDocumentId`` before reading anything when two files share an id."""
    if not corpus.is_dir():
        raise EmptyCorpus(
            f"corpus folder {corpus} does not exist: create it and add documents "
            "(.docx, .pdf, .html, .txt, .md)"
        )
    files, skipped = walk(corpus)
    ids: dict[str, str] = {}
    for relative in files:
        doc_id = doc_id_for(relative)
        if doc_id in ids:
            raise DuplicateDocumentId(
                f"{ids[doc_id]} and {relative} in {corpus} would both get the document id "
                f"{doc_id!r}: rename or remove one of them and run `rag ingest` again "
                "(the index was not changed)"
            )
        ids[doc_id] = relative
    trees = []
    for n, (relative, path) in enumerate(files.items()):
        if reading:
            reading(relative, n, len(files))
        ocr = _pages_of(relative, reading) if reading else None
        try:
            trees.append(_parse(path, relative, doc_id_for(relative), ocr))
        except UnreadableFile as e:
            skipped.append((relative, str(e).removeprefix(f"{Path(relative).name}: ")))
        except OSError as e:
            skipped.append((relative, f"cannot be read ({e.strerror or e})"))
    if not trees:
        raise EmptyCorpus(
            f"no readable document in {corpus}: add .docx, .pdf, .html, .txt or .md files"
        )
    return trees, sorted(skipped)


def walk(corpus: Path) -> tuple[dict[str, Path], Skipped]:
    """Every candidate file (relative posix path → the real path to read) and the skips.

    Only regular files inside ``corpus`` count; links are followed only when they stay inside
    it and do not point at a file the walk reads anyway."""
    root = corpus.resolve()
    found: dict[str, Path] = {}
    links: dict[str, Path] = {}
    skipped: Skipped = []

    def unlistable(e: OSError) -> None:
        skipped.append((_relative(Path(e.filename), corpus), f"cannot list ({e.strerror})"))

    for folder, dirs, names in os.walk(corpus, onerror=unlistable):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(d)  # os.walk would not enter it either; say so
            target = _real(here / d)
            where = (
                "to another folder of the corpus, whose files are read there"
                if target and target.is_relative_to(root)
                else "outside the corpus folder"
            )
            skipped.append((_relative(here / d, corpus), f"a link {where} ({target})"))
        for name in sorted(n for n in names if not n.startswith(".")):
            path = here / name
            relative = _relative(path, corpus)
            reason = _unsupported(name)
            if reason:
                skipped.append((relative, reason))
                continue
            real = _real(path)
            if real is None:
                skipped.append((relative, "a link that leads nowhere (a loop)"))
                continue
            if not real.is_relative_to(root):
                skipped.append((relative, f"a link outside the corpus folder ({real})"))
                continue
            try:
                mode = real.stat().st_mode
            except OSError as e:
                skipped.append((relative, f"cannot be read ({e.strerror or e})"))
                continue
            if not stat.S_ISREG(mode):
                skipped.append((relative, "not a regular file"))
            elif path.is_symlink():
                links[relative] = real
            else:
                found[relative] = real
    reads = {real: relative for relative, real in found.items()}
    for relative, real in links.items():
        if real in reads:
            skipped.append((relative, f"a link to {reads[real]}, which is read itself"))
        else:
            found[relative] = real
    return dict(sorted(found.items())), skipped


def _unsupported(name: str) -> str:
    """Why a file name is not a document we read ("" when it might be)."""
    kind = SUFFIXES.get(Path(name).suffix.lower())
    if kind is None:
        expected = ", ".join(s for s, k in SUFFIXES.items() if k in READERS)
        return f"unsupported file type (expected {expected})"
    if kind in CONVERT:
        return CONVERT[kind]
    return ""


def _real(path: Path) -> Path | None:
    """Where ``path`` really is, or None for a link loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _pages_of(relative: str, reading: Reading) -> Progress:
    return lambda done, total: reading(f"{relative} · OCR", done, total)


def _parse(path: Path, relative: str, doc_id: str, progress: Progress | None = None) -> ClauseTree:
    """Read at most MAX_FILE_BYTES (a file may grow after the walk), then parse it."""
    name = Path(relative).name
    with path.open("rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise UnreadableFile(f"{name}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    kind = sniff(raw, name)
    if kind in READERS and find_spec(READERS[kind]) is None:
        raise UnreadableFile(
            f"{name}: no {kind} reader in this installation yet ({READERS[kind]} is missing)"
        )
    doc = read_document(Path(relative), doc_id, progress, raw=raw)
    return parse_clauses(replace(doc, source=relative))


def _relative(path: Path, corpus: Path) -> str:
    return path.relative_to(corpus).as_posix()
