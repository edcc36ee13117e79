"""OCR for scanned PDF pages: render with pypdfium2, read with RapidOCR, boxes → lines.

Imported by ``rag.readers.pdf`` only when a page has no text layer, so onnxruntime and the OCR
models (inside the ``rapidocr-onnxruntime`` wheel, nothing is downloaded) load only then, once
per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from rag.readers.base import Progress
from rag.readers.rows import PDFIUM, Row, tidy

DPI = 200  # enough for body text in a 10–12 pt font
MAX_SIDE = 4000  # pixels: a poster-sized page is rendered smaller, not at 200 dpi

Box = tuple[Sequence[Sequence[float]], str]  # four corners (x, y), text


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=False)  # rendered pages are upright: no angle classifier


def read_pages(pdf, pages: list[int], progress: Progress | None = None) -> dict[int, list[Row]]:
    """OCR the given 0-based pages of an open ``pypdfium2.PdfDocument``; rows are in points from
    the page's top left corner, like the text layer's."""
    import numpy as np

    engine = _engine()
    out: dict[int, list[Row]] = {}
    for done, index in enumerate(pages, start=1):
        with PDFIUM:  # render under the lock, recognise outside it
            page = pdf[index]
            try:
                width, height = page.get_size()
                scale = min(DPI / 72, MAX_SIDE / max(width, height, 1))
                image = page.render(scale=scale, grayscale=True).to_pil().convert("RGB")
            finally:
                page.close()
        result, _ = engine(np.asarray(image))
        boxes = [
            ([(x / scale, y / scale) for x, y in quad], text) for quad, text, _ in result or ()
        ]
        out[index] = rows_from_boxes(boxes)
        if progress:
            progress(done, len(pages))
    return out


def rows_from_boxes(boxes: Sequence[Box]) -> list[Row]:
    """Text boxes → lines: top to bottom; boxes that overlap vertically by half their height are
    one line, read left to right.

    >>> boxes = [([(60, 10), (90, 10), (90, 22), (60, 22)], "第二段"),
    ...          ([(10, 11), (50, 11), (50, 23), (10, 23)], "第一段，"),
    ...          ([(10, 40), (50, 40), (50, 52), (10, 52)], "下一行。")]
    >>> [r.text for r in rows_from_boxes(boxes)]
    ['第一段，第二段', '下一行。']
    """
    spans = []
    for quad, text in boxes:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        if text.strip():
            spans.append((min(ys), max(ys), min(xs), max(xs), text.strip()))
    spans.sort(key=lambda s: (s[0] + s[1]) / 2)
    lines: list[list[tuple[float, float, float, float, str]]] = []
    for span in spans:
        if lines:
            top = min(s[0] for s in lines[-1])
            bottom = max(s[1] for s in lines[-1])
            overlap = min(bottom, span[1]) - max(top, span[0])
            if overlap >= 0.5 * min(bottom - top, span[1] - span[0]):
                lines[-1].append(span)
                continue
        lines.append([span])
    rows = []
    for line in lines:
        line.sort(key=lambda s: s[2])
        height = sorted(s[1] - s[0] for s in line)[len(line) // 2]
        text = line[0][4]
        for prev, span in zip(line, line[1:], strict=False):
            text += (" " if span[2] - prev[3] > height else "") + span[4]
        rows.append(
            Row(
                tidy(text),
                min(s[0] for s in line),
                max(s[1] for s in line),
                line[0][2],
                line[-1][3],
                0.8 * height,
            )
        )
    return rows
