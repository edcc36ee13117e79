"""A PDF page's visual lines, shared by the text layer (``rag.readers.pdf``) and OCR
(``rag.readers.ocr``): the ``Row`` both produce, how a row's text is tidied, and the lock both take
around PDFium. Its own module so that neither reader imports the other.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

PDFIUM = threading.RLock()  # PDFium is not thread-safe: one call at a time per process
CJK_CHAR = r"\u3400-\u9fff\uf900-\ufaff"
CJK_TEXT = CJK_CHAR + r"\u3000-\u303f\uff00-\uffef"  # with CJK and full-width punctuation
LETTER_SPACED = re.compile(f"(?<![{CJK_TEXT}])[{CJK_TEXT}](?: [{CJK_TEXT}])+(?![{CJK_TEXT}])")


@dataclass(frozen=True)
class Row:
    """One visual line of a page, with where it sits (PDF points, top-down) and its text size."""

    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    right: float = 0.0  # where the lines of its column end: a line reaching it may wrap
    left: float = 0.0  # where they start


def tidy(text: str) -> str:
    """One space at most, none inside letter-spaced CJK words.

    >>> tidy("第一章  總 綱"), tidy("目 錄"), tidy("第一百條 省、直轄市")
    ('第一章 總綱', '目錄', '第一百條 省、直轄市')
    """
    text = " ".join(text.split())
    return LETTER_SPACED.sub(lambda m: m.group().replace(" ", ""), text)
