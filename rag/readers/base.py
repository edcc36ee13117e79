"""The one shape every reader returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int, int], None]  # (done, total), e.g. pages read by OCR


@dataclass(frozen=True)
class Line:
    """One line (usually one paragraph) of text, in reading order, as the file has it."""

    text: str
    page: int = 0  # 1-based page for paged formats (PDF); 0 when the format has no pages


@dataclass(frozen=True)
class Extracted:
    """What a reader found in a file, before normalisation."""

    format: str  # "text", "html", "pdf", "docx"
    lines: tuple[Line, ...]
    meta: dict[str, str] = field(default_factory=dict)  # 发文机关, 发文字号, 成文日期…
    title: str = ""  # the title the file declares (a metadata table, PDF info); "" if none
    notes: tuple[str, ...] = ()  # worth telling the maintainer, e.g. "pages 2–5 read by OCR"

    @classmethod
    def from_text(cls, text: str, fmt: str = "text", **kwargs) -> Extracted:
        """Plain text: one ``Line`` per line, no pages."""
        return cls(fmt, tuple(Line(line) for line in text.split("\n")), **kwargs)
