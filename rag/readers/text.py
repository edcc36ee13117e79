"""Plain text and Markdown: decode the bytes, nothing else (normalisation does the rest)."""

from __future__ import annotations

from rag.errors import UnreadableFile
from rag.readers.base import Extracted, Progress


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    return Extracted.from_text(decode(raw, name))


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030; refuse binary and empty files.

    >>> decode("政策".encode("gb18030"), "x.txt")
    '政策'
    """
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file")
    if b"\x00" in raw[:4096]:
        raise UnreadableFile(f"{name}: binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(f"{name}: not UTF-8 or GB18030 text")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text) * 0.01:
        raise UnreadableFile(f"{name}: looks binary ({controls} control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")
