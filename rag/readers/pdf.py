"""PDF → lines with their pages: the text layer (pypdfium2), OCR for scanned pages.

pypdfium2 rather than pdfplumber: the same characters and boxes, much faster on big pages (the
116 double-width pages of d42: about 3 s of character extraction against about 25 s, 70 s with
pdfplumber's overprint removal), and it also renders pages for OCR.

What a viewer shows is what we read: characters outside a page's crop box are left out (a
bilingual gazette printed as spreads shows only its Chinese half that way). Then:

1. characters become visual lines, one ``Row`` per line, top to bottom; a page whose text has an
   empty gutter down the middle is read column by column; no spaces inside CJK text;
2. running headers and footers go: lines at the top or bottom of many pages that read the same
   once digits are masked (or start the same: a gazette's running head names the current part),
   page numbers at a page's edge ("- 3 -", "第3页", "3/170", "28"), and edge lines that start or
   end with a number counting up with the pages ("B2404 第1條");
3. table-of-contents entries (dot leaders, the entry's wrapped lines, a 目录 heading) go;
4. in a mostly Chinese document, pages and columns that are mostly Latin go, so a parallel-language
   gazette keeps its Chinese text;
5. lines the layout broke are joined where the geometry says so: a big heading wrapped over
   lines, a line that runs to its column's edge mid-sentence with the line under it (also across
   a page turn: the joined line counts as the earlier page), a line with an open bracket;
6. the first big heading on the first page that ends like a document's name (通知, 細則), else
   the first big heading, is the title and line 1 (no big heading: normalisation takes line 1).

Normalisation (``rag.normalize``) joins the remaining breaks by punctuation, keeping each line's
page. Scanned pages (an image, no text layer) are read by OCR in ``rag.readers.ocr``, imported
only when such a page appears, and noted in ``notes``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from rag.clauses import heading_at
from rag.errors import UnreadableFile
from rag.normalize import LINE_END, TITLE_SUFFIX
from rag.readers.base import Extracted, Line, Progress
from rag.readers.rows import CJK_CHAR, CJK_TEXT, PDFIUM, Row, tidy
from rag.zh import fold

MAX_PAGES = 3000  # refuse bigger files before reading any page
MAX_OCR_PAGES = 300  # about an hour of OCR on two cores: more is refused before starting
SCANNED_CHARS = 20  # a page with fewer text characters than this and a big image is OCRed
EDGE = 3  # lines at the top and bottom of a page that may be running headers or footers
BIG = 1.2  # a heading is at least this many times the body text size
IS_CJK = re.compile(f"[{CJK_TEXT}]")
HAN = re.compile(f"[{CJK_CHAR}]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
PAGE_NUMBER = re.compile(
    r"[-—–－]\s*\d{1,4}\s*[-—–－]"  # - 3 -
    r"|第\s*\d{1,4}\s*[页頁](?:\s*[,，]?\s*共\s*\d{1,4}\s*[页頁])?"  # 第3页, 第3页 共9页
    r"|共\s*\d{1,4}\s*[页頁]\s*[,，]?\s*第\s*\d{1,4}\s*[页頁]"  # 共9页 第3页
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3/170
    r"|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?",  # Page 3 of 9
    re.IGNORECASE,
)
NUMBER_TOKEN = re.compile(r"([A-Z]?)(\d{1,5})")  # 28, B2396: a page number in a running header
LEADER = re.compile(r"(?:\.\s?){8,}|…{3,}|(?:·\s?){8,}|_{8,}")  # a contents entry's dot leader
WRAP_END = re.compile(f"[{CJK_CHAR}\\d)）\\]》”’」』]$")  # where CJK text may wrap (not 。；：)
BULLET = re.compile(r"[•·●○◆◇■□▪►\-—*]")
CONTENTS = re.compile(r"^(?:目\s*[录錄]|contents)$", re.IGNORECASE)


Page = list[list[Row]]  # a page's columns, each a list of rows in reading order


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    """The text of a PDF as lines in reading order, each with its 1-based page."""
    import pypdfium2

    try:
        with PDFIUM:
            pdf = pypdfium2.PdfDocument(raw)
    except pypdfium2.PdfiumError as e:
        if "password" in str(e).lower():
            hint = "it is password-protected: save a copy without the password and add that"
        else:
            hint = f"it is damaged ({e}): open it in a PDF viewer and save it as a new PDF"
        raise UnreadableFile(f"{name}: cannot read this PDF, {hint}") from e
    try:
        with PDFIUM:
            pages, scanned = _text_layer(pdf, name)
        notes: tuple[str, ...] = ()
        if len(scanned) > MAX_OCR_PAGES:
            raise UnreadableFile(
                f"{name}: {len(scanned)} scanned pages, more than "
                f"{MAX_OCR_PAGES} to OCR at once: split the PDF"
            )
        if scanned:
            from rag.readers import ocr  # onnxruntime loads only when a scanned page appears

            for index, rows in ocr.read_pages(pdf, scanned, progress).items():
                pages[index] = [with_edges(rows)]
            notes = (f"第{page_ranges([i + 1 for i in scanned])}页为扫描件，文字由OCR识别",)
    finally:
        with PDFIUM:
            pdf.close()
    pages = drop_latin(pages)
    rows = [[row for column in page for row in column] for page in pages]
    rows = drop_running(rows)
    rows = drop_contents(rows)
    body = _body_size(rows)
    rows = join_pages([join_wrapped(join_headings(page, body)) for page in rows])
    title, lines = _title_first(rows, body)
    if not lines:
        raise UnreadableFile(f"{name}: no text in the PDF (no text layer, no scanned image)")
    return Extracted("pdf", tuple(lines), title=title, notes=notes)


@dataclass(frozen=True, slots=True)
class Char:
    """One printed character, in points from the crop box's top left corner."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def size(self) -> float:  # the loose box is about 1.25 em high: this is about the font size
        return 0.8 * (self.bottom - self.top)


def _text_layer(pdf, name: str) -> tuple[list[Page], list[int]]:
    """Rows of every page from the text layer, and the 0-based pages that need OCR."""
    if len(pdf) > MAX_PAGES:
        raise UnreadableFile(f"{name}: {len(pdf)} pages, more than {MAX_PAGES}: split the PDF")
    pages: list[Page] = []
    scanned: list[int] = []
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            chars = _visible_chars(page)
            if len(chars) < SCANNED_CHARS and _has_big_image(page):
                scanned.append(index)
            pages.append([with_edges(_rows(column)) for column in columns(chars)])
        finally:
            page.close()
    return pages, scanned


def _visible_chars(page) -> list[Char]:
    """Printed characters inside the crop box (what a viewer shows), overprints removed."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_cropbox()
    textpage = page.get_textpage()
    chars: list[Char] = []
    seen: set[tuple[str, int, int]] = set()
    try:
        for k in range(textpage.count_chars()):
            text = chr(pdfium_c.FPDFText_GetUnicode(textpage, k))
            if not text.isprintable() or text.isspace():
                continue
            x0, y0, x1, y1 = textpage.get_charbox(k, loose=True)
            if not (left <= (x0 + x1) / 2 <= right and bottom <= (y0 + y1) / 2 <= top):
                continue
            key = (text, round(x0), round(y1))  # fake bold prints a character twice
            if key not in seen:
                seen.add(key)
                chars.append(Char(text, x0 - left, x1 - left, top - y1, top - y0))
    finally:
        textpage.close()
    return chars


def _has_big_image(page) -> bool:
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        x0, y0, x1, y1 = obj.get_bounds()
        if (x1 - x0) * (y1 - y0) >= 0.2 * width * height:
            return True
    return False


def columns(chars: list[Char]) -> list[list[Char]]:
    """Split a page's characters at an empty gutter down the middle, if there is one.

    Only the body counts (running headers may cross the gutter), and it must be long enough
    to be two columns of text.
    """
    if len(chars) < 200:
        return [chars]
    left = min(c.x0 for c in chars)
    right = max(c.x1 for c in chars)
    if right - left > 20_000:  # beyond any real page (14 400 pt is the PDF limit)
        return [chars]
    upper = min(c.top for c in chars)
    lower = max(c.bottom for c in chars)
    span = lower - upper
    body = [c for c in chars if upper + 0.12 * span <= c.top and c.bottom <= lower - 0.08 * span]
    if len(body) < 200:
        return [chars]
    covered = bytearray(int(right - left) + 2)
    for c in body:
        a, b = int(c.x0 - left), int(c.x1 - left) + 1
        covered[a:b] = b"\x01" * (b - a)
    best, best_width, start = 0.0, 0, None
    for x, filled in enumerate([*covered, 1]):
        if not filled and start is None:
            start = x
        elif filled and start is not None:
            middle = left + (start + x) / 2
            if x - start > best_width and 0.3 <= (middle - left) / (right - left) <= 0.7:
                best, best_width = middle, x - start
            start = None
    if best_width < 10:
        return [chars]
    split = [
        [c for c in chars if c.x0 + c.x1 <= 2 * best],
        [c for c in chars if c.x0 + c.x1 > 2 * best],
    ]
    if min(len(split[0]), len(split[1])) < 0.1 * len(chars):  # CJK needs fewer glyphs
        return [chars]
    return split


def _rows(chars: list[Char]) -> list[Row]:
    """Characters → visual lines: grouped by their vertical middle, read left to right."""
    groups: list[list[Char]] = []
    for c in sorted(chars, key=lambda c: c.top + c.bottom):
        if groups:
            anchor = groups[-1][0]
            if abs(c.top + c.bottom - anchor.top - anchor.bottom) / 2 <= 0.4 * max(c.size, 1):
                groups[-1].append(c)
                continue
        groups.append([c])
    rows = [_row(sorted(group, key=lambda c: c.x0)) for group in groups]
    return sorted((r for r in rows if r.text), key=lambda r: r.top)


def _row(chars: list[Char]) -> Row:
    sized = [c for c in chars if HAN.match(c.text)] or chars  # Latin fonts measure differently
    size = sorted(c.size for c in sized)[len(sized) // 2]
    parts = [chars[0].text]
    for prev, c in zip(chars, chars[1:], strict=False):
        cjk = IS_CJK.match(prev.text) or IS_CJK.match(c.text)
        if c.x0 - prev.x1 > (0.5 if cjk else 0.15) * size:
            parts.append(" ")
        parts.append(c.text)
    return Row(
        tidy("".join(parts)),
        min(c.top for c in chars),
        max(c.bottom for c in chars),
        chars[0].x0,
        chars[-1].x1,
        size,
    )


def with_edges(rows: list[Row]) -> list[Row]:
    """Rows that know where their column's lines start and end: the right edge is where at
    least two lines end (a lone line, such as a cover's, never counts as wrapped)."""
    ends = sorted((r.x1 for r in rows), reverse=True)
    size = _body_size([rows]) or 10.0
    right = next((x for x, y in zip(ends, ends[1:], strict=False) if x - y <= 1.2 * size), math.inf)
    left = min((r.x0 for r in rows), default=0.0)
    return [replace(r, right=right, left=left) for r in rows]


def join_wrapped(rows: list[Row]) -> list[Row]:
    """Join a line that runs to the column's edge mid-sentence with the line below it: CJK text
    wraps anywhere, even inside a heading's first line ("5. 關於…資料的截" + "取或…").

    The next line must sit right below, in the same column and size, and not start a heading or
    a bullet.
    """
    out: list[Row] = []
    for r in rows:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.right == r.right
            and _right_below(prev, r)
            and (_wraps(prev, r) or _unclosed(prev.text) and _same_size(prev, r))
        ):
            out[-1] = replace(prev, text=prev.text + r.text, bottom=r.bottom, x1=r.x1)
        else:
            out.append(r)
    return out


def join_pages(pages: list[list[Row]]) -> list[list[Row]]:
    """The same across a page turn: a page's last line that wraps goes on with the next page's
    first line, and the joined line counts as the earlier page (where the passage starts)."""
    out = [list(rows) for rows in pages]
    for rows, nxt in zip(out, out[1:], strict=False):
        if rows and nxt and _wraps(rows[-1], nxt[0]):
            rows[-1] = replace(rows[-1], text=rows[-1].text + nxt.pop(0).text)
    return out


def _wraps(row: Row, nxt: Row) -> bool:
    """``row`` reaches its column's edge mid-sentence and ``nxt`` (same size, not a heading or a
    bullet) carries on with it."""
    return (
        row.x1 >= row.right - 1.2 * row.size
        and _same_size(row, nxt)
        and nxt.x0 < (nxt.left + nxt.right) / 2  # a signature's date, a page's label: not a tail
        and WRAP_END.search(row.text) is not None
        and (heading_at(nxt.text) is None or heading_at(nxt.text).kind == "条")  # 第四十三條第一款
        and not BULLET.match(nxt.text)
    )


def _same_size(row: Row, nxt: Row) -> bool:
    return abs(nxt.size - row.size) <= 0.1 * row.size


def _right_below(row: Row, nxt: Row) -> bool:
    """``nxt`` is the next visual line under ``row`` (no blank line between them)."""
    return row.top < nxt.top and nxt.top - row.bottom <= 0.6 * row.size


def page_ranges(pages: list[int]) -> str:
    """1-based pages as ranges, the way a note says them.

    >>> page_ranges([1, 2, 3, 5]), page_ranges([7])
    ('1–3、5', '7')
    """
    runs: list[list[int]] = []
    for p in sorted(pages):
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def drop_latin(pages: list[Page]) -> list[Page]:
    """In a mostly Chinese document, drop pages and columns that are mostly Latin letters."""
    counts = [[_script(column) for column in page] for page in pages]
    han = sum(h for page in counts for h, _ in page)
    words = sum(n for page in counts for _, n in page)
    if han < words:
        return pages
    return [
        [column for column, (h, n) in zip(page, page_counts, strict=True) if n < 10 or n <= 4 * h]
        for page, page_counts in zip(pages, counts, strict=True)
    ]


def _script(rows: Iterable[Row]) -> tuple[int, int]:
    """Han characters and Latin words: about the same amount of text each."""
    text = " ".join(r.text for r in rows)
    return len(HAN.findall(text)), len(LATIN_WORD.findall(text))


def drop_running(pages: list[list[Row]]) -> list[list[Row]]:
    """Remove running headers, footers and page numbers: judged by position and repetition."""
    texted = sum(1 for rows in pages if rows)
    repeats = Counter(
        key for rows in pages for key in {k for r in _edges(rows) for k in _keys(r.text)}
    )
    running = {key for key, n in repeats.items() if n >= max(2, math.ceil(0.3 * texted))}
    counting = _counting_numbers(pages)
    out = []
    for index, rows in enumerate(pages):
        edges = {id(r) for r in _edges(rows)}
        ends = {id(r) for r in rows[:1] + rows[-1:]}
        out.append(
            [
                r
                for r in rows
                if not (
                    id(r) in edges
                    and (
                        _keys(r.text) & running
                        or _is_page_number(r.text)
                        or _counts_up(r.text, index, counting)
                    )
                )
                and not (id(r) in ends and r.text.isdigit() and len(r.text) <= 4)
            ]
        )
    return out


def _edges(rows: list[Row]) -> list[Row]:
    return rows[:EDGE] + rows[EDGE:][-EDGE:]


def _keys(text: str) -> set[str]:
    """What a running header may repeat: the whole line, or how it starts (a gazette's running
    head adds the current part: "2020年第139號法律公告 附表1——第1部"), numbers masked.

    >>> sorted(_keys("2020年第139號法律公告 附表1——第1部"))
    ['#年第#號法律公告', '#年第#號法律公告附表#——第#部']
    """
    words = text.split()
    keys = {_mask(" ".join(words[:n])) for n in range(1, len(words))}
    return {k for k in keys if len(k) >= 5} | {_mask(text)} - {"", "#"}


def _mask(text: str) -> str:
    """The shape of a line with its numbers hidden: a running header reads the same on every page.

    >>> _mask("2020年第139號法律公告 B2396")
    '#年第#號法律公告B#'
    """
    return re.sub(r"\d+", "#", "".join(text.split()))


def _is_page_number(text: str) -> bool:
    """
    >>> [_is_page_number(t) for t in ("- 3 -", "第3页", "3/170", "Page 2 of 9", "3.2万")]
    [True, True, True, True, False]
    """
    return PAGE_NUMBER.fullmatch(text.strip()) is not None


def _end_numbers(text: str) -> list[tuple[str, int]]:
    """The (letter, number) tokens a line starts or ends with: "B2404 第1條" → [("B", 2404)]."""
    tokens = text.split()
    found = []
    for token in {tokens[0], tokens[-1]} if tokens else ():
        m = NUMBER_TOKEN.fullmatch(token)
        if m:
            found.append((m.group(1), int(m.group(2))))
    return found


def _counting_numbers(pages: list[list[Row]]) -> set[tuple[str, int, int]]:
    """Page-number sequences: (letter, step, offset) such that an edge line of page i starts or
    ends with letter + (offset + step·i) on at least three pages."""
    seen: Counter[tuple[str, int, int]] = Counter()
    for index, rows in enumerate(pages):
        keys = set()
        for row in _edges(rows):
            for letter, number in _end_numbers(row.text):
                keys.update((letter, step, number - step * index) for step in (1, 2))
        seen.update(keys)
    return {key for key, n in seen.items() if n >= 3}


def _counts_up(text: str, index: int, counting: set[tuple[str, int, int]]) -> bool:
    return any(
        (letter, step, number - step * index) in counting
        for letter, number in _end_numbers(text)
        for step in (1, 2)
    )


def drop_contents(pages: list[list[Row]]) -> list[list[Row]]:
    """Remove tables of contents: on each page, from its 目录 heading or first entry (with the
    entry's wrapped lines before its dot leader) to the last dot-leader line; on a page after
    one that ended in the contents, from the top."""
    out = []
    continued = False
    for rows in pages:
        kept = _drop_contents(rows, continued)
        continued = bool(rows) and bool(LEADER.search(rows[-1].text))
        out.append(kept)
    return out


def _drop_contents(rows: list[Row], continued: bool) -> list[Row]:
    leaders = [i for i, r in enumerate(rows) if LEADER.search(r.text)]
    if not leaders:
        return rows
    start = 0 if continued else leaders[0]
    while start > 0 and _wraps_into(rows[start - 1], rows[start]):
        start -= 1
    heading = [i for i, r in enumerate(rows[:start]) if CONTENTS.match(r.text)]
    if heading:
        start = heading[0]
    return rows[:start] + rows[leaders[-1] + 1 :]


def _wraps_into(row: Row, nxt: Row) -> bool:
    """``nxt`` is the next visual line of the same paragraph or entry (close below, no leader)."""
    return not LEADER.search(row.text) and 0 < nxt.top - row.top <= 1.8 * row.size


def _body_size(pages: list[list[Row]]) -> float:
    """The text size most characters have."""
    sizes: Counter[float] = Counter()
    for rows in pages:
        for r in rows:
            sizes[round(r.size * 2) / 2] += len(r.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def join_headings(rows: list[Row], body: float) -> list[Row]:
    """A big heading wrapped over lines of the same size becomes one row."""
    out: list[Row] = []
    for r in rows:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.size >= BIG * body
            and abs(r.size - prev.size) <= 0.05 * prev.size
            and _right_below(prev, r)
            and not prev.text.endswith(LINE_END)
            and (heading_at(r.text) is None or _unclosed(prev.text))
        ):
            space = " " if not (IS_CJK.match(prev.text[-1]) or IS_CJK.match(r.text[0])) else ""
            out[-1] = replace(
                prev,
                text=prev.text + space + r.text,
                bottom=r.bottom,
                x0=min(prev.x0, r.x0),
                x1=max(prev.x1, r.x1),
            )
        else:
            out.append(r)
    return out


def _unclosed(text: str) -> bool:
    """A bracket or book-title mark is still open: the line must go on.

    >>> _unclosed("《中華人民共和國香港特別行政區維護國家安全法"), _unclosed("(一) 總則")
    (True, False)
    """
    return text.count("《") > text.count("》") or text.count("(") + text.count("（") > text.count(
        ")"
    ) + text.count("）")


def _title_first(pages: list[list[Row]], body: float) -> tuple[str, list[Line]]:
    """The title (first big heading on the first page with text, "" if none) and every line,
    the title's first."""
    first = next((i for i, rows in enumerate(pages) if rows), None)
    lines = [Line(r.text, i + 1) for i, rows in enumerate(pages) for r in rows]
    if first is None:
        return "", lines
    rows = pages[first]
    big = [i for i, r in enumerate(rows) if r.size >= BIG * body and HAN.search(r.text)]
    if not big:
        return "", lines
    # a document's own name ends like one (…的通知, 細則); a masthead (某市人民政府文件) does not
    named = [i for i in big if TITLE_SUFFIX.search(fold(_unquote(rows[i].text)))]
    first_big = (named or big)[0]
    parts = [first_big]
    nxt = first_big + 1
    head = rows[first_big]
    ended = TITLE_SUFFIX.search(fold(head.text)) or head.text.endswith("》")
    if (
        not ended
        and nxt < len(rows)
        and rows[nxt].size >= 0.85 * head.size
        and rows[nxt].top - head.bottom <= 2.5 * head.size
    ):
        parts.append(nxt)  # a booklet's cover: two titles, one under the other
    title = " ".join(rows[i].text for i in parts)
    if len(title) > 100:
        return "", lines
    rest = [Line(r.text, first + 1) for i, r in enumerate(rows) if i not in parts]
    after = [line for line in lines if line.page > first + 1]
    title = _unquote(title)
    return title, [Line(title, first + 1), *rest, *after]


def _unquote(title: str) -> str:
    """
    >>> _unquote("《香港特別行政區基本法》"), _unquote("《甲》和《乙》")
    ('香港特別行政區基本法', '《甲》和《乙》')
    """
    inner = title[1:-1]
    if title.startswith("《") and title.endswith("》") and "《" not in inner and "》" not in inner:
        return inner
    return title
