"""Stage 0: a file's bytes → ``Extracted`` lines, one reader per format, chosen by sniffing.

Every reader has the same shape, ``read(raw: bytes, name: str, progress=None) -> Extracted``:
plain lines of text in reading order, each with the page it came from (PDF) or 0, plus the
metadata and title the file itself declares. Normalisation (``rag.normalize``) turns those
lines into a ``Document`` and keeps a map from text offsets back to pages, so a citation from
a PDF can say 第N页.

The format is decided by the content (``sniff``), the extension only breaks ties, so a PDF
saved as ``.txt`` is still read as a PDF and a text file named ``.html`` as text. Formats we
cannot read (``.doc``, ``.wps``, ``.ofd``, images, archives) raise ``UnreadableFile`` with a
message that says how to convert the file.

Adding a format: a module here with a ``read`` function, one line in ``READERS``, one rule in
``sniff``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rag.errors import UnreadableFile
from rag.readers.base import Extracted, Line, Progress

__all__ = ["Extracted", "Line", "Progress", "READERS", "SUFFIXES", "read", "sniff"]

READERS = {  # format → module with ``read(raw, name, progress=None) -> Extracted``
    "text": "rag.readers.text",
    "html": "rag.readers.html",
    "pdf": "rag.readers.pdf",
    "docx": "rag.readers.docx",
}
SUFFIXES = {  # extensions the corpus walk looks at; anything else is skipped with a reason
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".shtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    # known but unreadable: sniff() turns these into a conversion hint
    ".doc": "doc",
    ".wps": "wps",
    ".ofd": "ofd",
    ".et": "wps",
    ".rtf": "rtf",
}
CONVERT = {
    "doc": "an old binary Word .doc file: open it in Word or WPS and save as .docx",
    "wps": "a WPS file: open it in WPS and save as .docx (文件 › 另存为 › Word 文件)",
    "ofd": "an OFD file: export it to PDF with the OFD reader (数科/福昕) and add the PDF",
    "rtf": "an RTF file: open it in Word or WPS and save as .docx",
    "zip": "an archive: unpack it and add the documents inside",
    "image": "an image: put it in a PDF (scanned pages are read with OCR) and add the PDF",
}


def sniff(raw: bytes, name: str) -> str:
    """The format of a file from its first bytes; the extension only decides between text
    and HTML.

    >>> sniff(b"%PDF-1.7 ...", "x.txt"), sniff(b"<div class='wrap'>", "x.html")
    ('pdf', 'html')
    >>> sniff(b"\\xd0\\xcf\\x11\\xe0\\xa1\\xb1\\x1a\\xe1", "x.doc")
    'doc'
    >>> sniff("一、总则".encode(), "a.md")
    'text'
    """
    head = raw[:2048]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: .doc, .wps, .et, .xls
        return "wps" if name.lower().endswith((".wps", ".et")) else "doc"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in raw[:65536] or name.lower().endswith(".docx"):
            return "docx"
        if b"OFD.xml" in raw[:65536] or name.lower().endswith(".ofd"):
            return "ofd"
        return "zip"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    suffix_format = SUFFIXES.get("." + name.rsplit(".", 1)[-1].lower(), "text")
    if suffix_format == "html" or _looks_like_html(head):
        return "html"
    return "text"


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<div", b"<meta"))


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    """Read one file's bytes with the reader its content calls for."""
    kind = sniff(raw, name)
    if kind in CONVERT:
        raise UnreadableFile(f"{name}: {CONVERT[kind]}")
    module = importlib.import_module(READERS[kind])
    reader: Callable[..., Extracted] = module.read
    return reader(raw, name, progress)
