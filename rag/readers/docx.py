"""Word .docx → lines: paragraphs and tables in body order, with Word's list numbers written out.

Word does not store list labels (一、 （一） 1. 第一条) in the paragraph text: it draws them at
display time from ``numbering.xml``. A reader that only takes the text hands the clause parser a
document without numbers, so ``rag.clauses`` finds no structure and answers cite nothing useful.
We therefore replay Word's counters in body order (``_Lists``): the list of a paragraph comes
from its own ``numPr`` or its style's (``basedOn`` chains included), the label from the level's
``numFmt``/``lvlText``/``start``, lower levels restart when a higher one advances (``lvlRestart``
overrides that), and ``lvlOverride``/``startOverride`` restart a list.

Tables go through ``rag.readers.tables.table_lines`` after merged cells (``gridSpan``,
``vMerge``) are expanded; a one-column table is layout (a framed body, a red-header template)
and its paragraphs are read as ordinary lines.

A .docx is a zip: before python-docx opens it, the zip directory is checked against
decompression bombs (entry count, total size, compression ratio), cheaply and without
inflating anything.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from rag.errors import UnreadableFile
from rag.readers.base import Extracted, Line, Progress
from rag.readers.tables import table_lines
from rag.zh import fold

MAX_ENTRIES = 2_000  # a real .docx has a few dozen parts, a few hundred with many images
MAX_UNCOMPRESSED = 200 * 2**20  # bytes, all entries together
MAX_RATIO = 100  # uncompressed : compressed, for entries above RATIO_FROM
RATIO_FROM = 2**20  # small XML parts legitimately compress very well; big ones do not

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
NOT_TEXT = {  # subtrees of a paragraph whose text is not the paragraph's own words
    W + "pPr",
    W + "rPr",
    W + "txbxContent",
    W + "rt",
    W + "del",
    W + "moveFrom",
    MC_FALLBACK,
}
CONTAINERS = {W + "sdt", W + "sdtContent", W + "customXml", W + "ins", W + "moveTo"}
LABEL_END = tuple("、.．)）]】〕:：")
TOC_STYLE = re.compile(r"^(toc|目录)\s*\d", re.IGNORECASE)  # Word's "toc 1", WPS's "目录 1"
TOC_GALLERY = f"{W}sdtPr/{W}docPartObj/{W}docPartGallery"
SENTENCE_END = re.compile(r"[。！？!?]")


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    """The document's lines in body order, list labels included; title from the core
    properties when it is a Chinese title the text itself carries."""
    check_zip(raw, name)
    try:
        document = docx.Document(io.BytesIO(raw))
        part = document.part
        numbering = _related(part, RT.NUMBERING)
        styles = _related(part, RT.STYLES)
        lists = _Lists(numbering, styles)
        lines = [Line(text) for text in _block_lines(part.element.body, lists)]
        title = document.core_properties.title or ""
    except UnreadableFile:
        raise
    except Exception as e:  # python-docx and lxml raise many kinds on a damaged package
        raise UnreadableFile(
            f"{name}: not a readable Word .docx ({type(e).__name__}: {str(e)[:120]}); "
            "open it in Word or WPS and save it again as .docx"
        ) from e
    return Extracted("docx", tuple(lines), title=_trusted_title(title, [ln.text for ln in lines]))


def check_zip(raw: bytes, name: str) -> None:
    """Refuse a corrupt zip or a decompression bomb from the zip directory alone. The declared
    sizes are a real bound: zipfile never inflates an entry past its declared size (and fails
    its CRC check if the data goes on).

    >>> check_zip(b"PK\\x03\\x04 not really a zip", "x.docx")
    Traceback (most recent call last):
    rag.errors.UnreadableFile: x.docx: damaged .docx (not a valid zip archive); open it in Word or WPS and save it again
    """  # noqa: E501
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise UnreadableFile(
            f"{name}: damaged .docx (not a valid zip archive); open it in Word or WPS and save "
            "it again"
        ) from e
    if len(entries) > MAX_ENTRIES:
        raise UnreadableFile(
            f"{name}: refused, the .docx holds {len(entries)} files (at most {MAX_ENTRIES}), "
            "more than a Word document has; if it is one, save it again without embedded objects"
        )
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED:
        raise UnreadableFile(
            f"{name}: refused, the .docx unpacks to {total // 2**20} MB "
            f"(at most {MAX_UNCOMPRESSED // 2**20} MB); remove large images or split the document"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FROM and ratio > MAX_RATIO:
            raise UnreadableFile(
                f"{name}: refused, {entry.filename} is compressed {ratio:.0f}:1 (at most "
                f"{MAX_RATIO}:1) like a decompression bomb; if it is a real document, open it in "
                "Word or WPS and save it again"
            )


def _related(part, reltype: str):
    """The XML root of a part related to the document part, or None when it is absent."""
    try:
        return part.part_related_by(reltype).element
    except KeyError:
        return None


# --- body order: paragraphs, tables, content controls ------------------------------------------


def _blocks(container) -> Iterator:
    """``w:p`` and ``w:tbl`` children in order, looking inside content controls, except a
    table of contents: it repeats the headings (with page numbers) before the text."""
    for child in container:
        if child.tag in (W + "p", W + "tbl"):
            yield child
        elif child.tag in CONTAINERS and not _is_toc(child):
            yield from _blocks(child)


def _is_toc(sdt) -> bool:
    gallery = sdt.find(TOC_GALLERY)
    return gallery is not None and gallery.get(W + "val") == "Table of Contents"


def _block_lines(container, lists: _Lists) -> list[str]:
    lines: list[str] = []
    for block in _blocks(container):
        if block.tag == W + "p":
            lines += _paragraph_lines(block, lists)
        else:
            lines += _table_lines(block, lists)
    return lines


def _paragraph_lines(p, lists: _Lists) -> list[str]:
    """One paragraph as lines: its label + text (split at soft line breaks), then the
    paragraphs of any text box anchored in it."""
    if lists.in_toc(p):
        return []
    parts: list[str] = []
    _collect_text(p, parts)
    text = "".join(parts)
    label = lists.label(p)
    lines = [line for line in (label + text).split("\n") if line.strip()] if text.strip() else []
    for box in p.iter(W + "txbxContent"):
        ancestors = list(box.iterancestors())
        owner = next(a for a in ancestors if a.tag == W + "p")  # boxes in boxes: their own p
        if owner is p and not any(a.tag == MC_FALLBACK for a in ancestors):
            lines += _block_lines(box, lists)
    return lines


def _collect_text(element, out: list[str]) -> None:
    for child in element:
        tag = child.tag
        if tag in NOT_TEXT or (tag == W + "r" and _hidden(child)):
            continue
        if tag == W + "t":
            out.append(child.text or "")
        elif tag in (W + "tab", W + "ptab"):
            out.append(" ")
        elif tag == W + "br":
            out.append("" if child.get(W + "type") in ("page", "column") else "\n")
        elif tag == W + "cr":
            out.append("\n")
        elif tag == W + "noBreakHyphen":
            out.append("-")
        else:
            _collect_text(child, out)


def _hidden(run) -> bool:
    """A run formatted as hidden text (``w:vanish``) is not shown, so not read."""
    vanish = run.find(f"{W}rPr/{W}vanish")
    return vanish is not None and vanish.get(W + "val") not in ("0", "false", "off")


def _table_lines(tbl, lists: _Lists) -> list[str]:
    rows = _grid(tbl, lists)
    if max((len(row) for row in rows), default=0) <= 1:  # layout: a framed block of text
        return [line for row in rows for cell in row for line in cell.split("\n") if line]
    return table_lines(rows)


def _grid(tbl, lists: _Lists) -> list[list[str]]:
    """The table as rows of cell texts, one per grid column, merged cells repeated."""
    rows: list[list[str]] = []
    for tr in tbl.iter(W + "tr"):
        if _owner_table(tr) is not tbl:  # rows of a nested table belong to their cell
            continue
        row = [""] * max(0, min(_int(tr.find(f"{W}trPr/{W}gridBefore"), 0), 64))
        for cell in _cells(tr):
            span = max(1, min(_int(cell.find(f"{W}tcPr/{W}gridSpan"), 1), 64))
            text = "\n".join(_block_lines(cell, lists))
            column = len(row)
            if _continues_merge(cell, f"{W}tcPr/{W}vMerge") and rows:
                above = rows[-1]
                text = above[column] if column < len(above) else text
            elif _continues_merge(cell, f"{W}tcPr/{W}hMerge") and row:
                text = row[-1]
            row += [text] * span
        rows.append(row)
    return rows


def _cells(row) -> Iterator:
    """``w:tc`` children of a row, looking inside content controls."""
    for child in row:
        if child.tag == W + "tc":
            yield child
        elif child.tag in CONTAINERS:
            yield from _cells(child)


def _owner_table(tr):
    return next(tr.iterancestors(W + "tbl"), None)


def _continues_merge(cell, path: str) -> bool:
    merge = cell.find(path)
    return merge is not None and merge.get(W + "val", "continue") == "continue"


def _int(element, default: int, attribute: str = "val") -> int:
    """An element's integer ``w:val`` (bounded), or ``default`` when absent or malformed."""
    if element is None:
        return default
    try:
        return max(-(10**6), min(int(element.get(W + attribute, "")), 10**6))
    except ValueError:
        return default


def _trusted_title(title: str, lines: list[str]) -> str:
    """The core-properties title if it looks like a Chinese title and the text carries it near
    the top; templates are reused, so a title the text does not carry is usually stale.

    >>> _trusted_title("关于推进签约服务的通知", ["穗卫函", "关于推进签约", "服务的通知"])
    '关于推进签约服务的通知'
    >>> _trusted_title("Microsoft Word - 通知.doc", ["通知"]), _trusted_title("旧的通知", ["别的"])
    ('', '')
    """
    title = title.strip()
    cjk = sum(1 for ch in title if "\u3400" <= ch <= "\u9fff")
    if not (4 <= len(title) <= 120 and cjk >= 0.6 * len(title)) or SENTENCE_END.search(title):
        return ""
    head = re.sub(r"\s", "", fold("".join(lines[:30])))
    return title if re.sub(r"\s", "", fold(title)) in head else ""


# --- Word's automatic numbering ------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One level of a list definition (``w:lvl``)."""

    fmt: str = "decimal"  # numFmt
    text: str = "%1."  # lvlText: %1…%9 stand for the counters of levels 1…9
    start: int = 1
    restart: int | None = None  # lvlRestart: restart after this 1-based level is used; 0 never
    legal: bool = False  # isLgl: every counter in the label shown as a decimal
    suffix: str = "tab"  # what follows the label: tab, space, nothing
    style: str = ""  # pStyle: the paragraph style that carries this level


@dataclass(frozen=True)
class ListInstance:
    """A ``w:num``: an abstract definition plus its overrides."""

    abstract: str
    levels: dict[int, Level] = field(default_factory=dict)  # lvlOverride/lvl
    starts: dict[int, int] = field(default_factory=dict)  # lvlOverride/startOverride


class _Lists:
    """Replays Word's list counters over paragraphs in body order.

    Counters belong to the abstract definition, so two ``w:num`` sharing one continue each
    other's numbering, as in Word; a ``w:num`` with a ``startOverride`` is a list of its own
    that starts over (Word's “restart numbering”).
    """

    def __init__(self, numbering, styles) -> None:
        self.abstracts: dict[str, dict[int, Level]] = {}
        self.links: dict[str, str] = {}  # abstractNum → numStyleLink style
        self.nums: dict[str, ListInstance] = {}
        self.styles: dict[str, tuple[str, str | None, int | None]] = {}  # id → basedOn, numId, ilvl
        self.default_style = ""
        self.toc_styles: set[str] = set()  # styles.xml is read once, here
        self.counters: dict[str, dict[int, int]] = {}
        if numbering is not None:
            self._read_numbering(numbering)
        if styles is not None:
            self._read_styles(styles)

    def _read_numbering(self, root) -> None:
        for abstract in root.iterchildren(W + "abstractNum"):
            key = abstract.get(W + "abstractNumId", "")
            self.abstracts[key] = {
                _int(lvl, 0, "ilvl"): _level(lvl) for lvl in abstract.iterchildren(W + "lvl")
            }
            link = abstract.find(W + "numStyleLink")
            if link is not None:
                self.links[key] = link.get(W + "val", "")
        for num in root.iterchildren(W + "num"):
            levels, starts = {}, {}
            for override in num.iterchildren(W + "lvlOverride"):
                ilvl = _int(override, 0, "ilvl")
                if (start := override.find(W + "startOverride")) is not None:
                    starts[ilvl] = _int(start, 1)
                if (lvl := override.find(W + "lvl")) is not None:
                    levels[ilvl] = _level(lvl)
            abstract = num.find(W + "abstractNumId")
            instance = ListInstance(
                abstract.get(W + "val", "") if abstract is not None else "", levels, starts
            )
            self.nums[num.get(W + "numId", "")] = instance

    def _read_styles(self, root) -> None:
        for style in root.iterchildren(W + "style"):
            if style.get(W + "type") != "paragraph":
                continue
            key = style.get(W + "styleId", "")
            based = style.find(W + "basedOn")
            num_pr = style.find(f"{W}pPr/{W}numPr")
            num_id, ilvl = _num_pr(num_pr)
            self.styles[key] = (based.get(W + "val", "") if based is not None else "", num_id, ilvl)
            if style.get(W + "default") in ("1", "true", "on"):
                self.default_style = key
            name = style.find(W + "name")
            if name is not None and TOC_STYLE.match(name.get(W + "val", "")):
                self.toc_styles.add(key)

    def in_toc(self, p) -> bool:
        """A paragraph of a table of contents (styled toc 1, toc 2…)."""
        style = p.find(f"{W}pPr/{W}pStyle")
        return style is not None and style.get(W + "val", "") in self.toc_styles

    def _style_numbering(self, style: str) -> tuple[str | None, int | None, str]:
        """(numId, ilvl, the style that set numId) along the basedOn chain."""
        num_id = ilvl = None
        owner, seen = "", set()
        while style in self.styles and style not in seen:
            seen.add(style)
            based, own_id, own_ilvl = self.styles[style]
            if ilvl is None:
                ilvl = own_ilvl
            if num_id is None and own_id is not None:
                num_id, owner = own_id, style
            style = based
        return num_id, ilvl, owner

    def _levels(self, num_id: str) -> tuple[str, dict[int, Level]] | None:
        """(counter key, levels) of a list instance, following numStyleLink once."""
        instance = self.nums.get(num_id)
        if instance is None:
            return None
        abstract = instance.abstract
        if abstract in self.links:  # the definition lives with a numbering style
            linked, _, _ = self._style_numbering(self.links[abstract])
            if linked is not None and linked in self.nums:
                abstract = self.nums[linked].abstract
        levels = {**self.abstracts.get(abstract, {}), **instance.levels}
        for ilvl, start in instance.starts.items():
            levels[ilvl] = _replace_start(levels.get(ilvl, Level()), start)
        key = f"num{num_id}" if instance.starts else f"abs{abstract}"
        return key, levels

    def label(self, p) -> str:
        """The label Word draws before this paragraph ("" when it is not in a list);
        advances the counters."""
        num_id, ilvl = _num_pr(p.find(f"{W}pPr/{W}numPr"))
        style_el = p.find(f"{W}pPr/{W}pStyle")
        style = style_el.get(W + "val", "") if style_el is not None else self.default_style
        style_id, style_ilvl, owner = self._style_numbering(style)
        if num_id is None:
            num_id = style_id
        if num_id is None or num_id == "0":
            return ""
        found = self._levels(num_id)
        if found is None:
            return ""
        key, levels = found
        if ilvl is None:
            ilvl = style_ilvl
        if ilvl is None:  # a style linked from a level (w:lvl/w:pStyle) sits on that level
            ilvl = next((i for i, lv in levels.items() if lv.style and lv.style == owner), 0)
        ilvl = max(0, min(ilvl, 8))
        level = levels.get(ilvl, Level())
        counters = self.counters.setdefault(key, {})
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else level.start
        for deeper in [d for d in counters if d > ilvl]:
            restart = levels.get(deeper, Level()).restart
            if restart is None or restart > deeper:  # default: any higher level restarts it
                restart = deeper
            if restart and ilvl < restart:
                del counters[deeper]
        if level.fmt == "bullet":
            return ""
        label = render(level, levels, counters)
        if label and level.suffix != "nothing" and not label.endswith(LABEL_END):
            label += " "
        return label


def _num_pr(num_pr) -> tuple[str | None, int | None]:
    if num_pr is None:
        return None, None
    num_id = num_pr.find(W + "numId")
    ilvl = num_pr.find(W + "ilvl")
    return (
        num_id.get(W + "val", "") if num_id is not None else None,
        _int(ilvl, 0) if ilvl is not None else None,
    )


def _level(lvl) -> Level:
    def val(tag: str, default: str) -> str:
        element = lvl.find(W + tag)
        return element.get(W + "val", default) if element is not None else default

    restart = lvl.find(W + "lvlRestart")
    legal = lvl.find(W + "isLgl")
    return Level(
        fmt=val("numFmt", "decimal"),
        text=val("lvlText", ""),
        start=_int(lvl.find(W + "start"), 1),
        restart=_int(restart, 0) if restart is not None else None,
        legal=legal is not None and legal.get(W + "val") not in ("0", "false", "off"),
        suffix=val("suff", "tab"),
        style=val("pStyle", ""),
    )


def _replace_start(level: Level, start: int) -> Level:
    return Level(
        level.fmt, level.text, start, level.restart, level.legal, level.suffix, level.style
    )


def render(level: Level, levels: dict[int, Level], counters: dict[int, int]) -> str:
    """A level's ``lvlText`` with every %N replaced by level N's counter in level N's format.

    >>> levels = {0: Level("chineseCounting", "%1、"), 1: Level("decimal", "%1.%2")}
    >>> render(levels[0], levels, {0: 3}), render(levels[1], levels, {0: 2, 1: 5})
    ('三、', '二.5')
    >>> render(Level("decimal", "%1.%2", legal=True), levels, {0: 2, 1: 5})
    '2.5'
    """

    def counter(m: re.Match[str]) -> str:
        ilvl = int(m.group(1)) - 1
        ref = levels.get(ilvl, Level())
        value = counters.get(ilvl, ref.start)
        return number(value, "decimal" if level.legal else ref.fmt)

    return re.sub(r"%([1-9])", counter, level.text)


CN_DIGITS = "〇一二三四五六七八九"
LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
STEMS = "甲乙丙丁戊己庚辛壬癸"
BRANCHES = "子丑寅卯辰巳午未申酉戌亥"
ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def number(n: int, fmt: str) -> str:
    """One counter value in a Word number format (ECMA-376 ST_NumberFormat); formats we do
    not know, and values a format cannot show, fall back to decimal as Word does.

    >>> [number(n, "chineseCounting") for n in (1, 10, 11, 20, 99, 105)]
    ['一', '十', '十一', '二十', '九十九', '一〇五']
    >>> [number(n, "chineseCountingThousand") for n in (10, 15, 101, 110, 2024)]
    ['十', '十五', '一百零一', '一百一十', '二千零二十四']
    >>> number(3, "ideographTraditional"), number(12, "japaneseCounting"), number(2, "decimalEnclosedCircle")
    ('丙', '十二', '②')
    >>> number(28, "lowerLetter"), number(14, "upperRoman"), number(0, "decimal")
    ('bb', 'XIV', '0')
    """  # noqa: E501
    if fmt == "none":
        return ""
    if n <= 0 or fmt in ("decimal", "decimalHalfWidth"):
        return str(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalEnclosedParen" and n <= 20:
        return chr(0x2474 + n - 1)
    if fmt == "decimalEnclosedFullstop" and n <= 20:
        return chr(0x2488 + n - 1)
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman") and n < 4000:
        roman = ""
        for value, digits in ROMAN:
            count, n = divmod(n, value)
            roman += digits * count
        return roman if fmt == "upperRoman" else roman.lower()
    if fmt in ("chineseCounting", "taiwaneseCounting"):
        if n < 100:
            tens, ones = divmod(n, 10)
            return (
                (CN_DIGITS[tens] if tens > 1 else "")
                + ("十" if tens else "")
                + (CN_DIGITS[ones] if ones else "")
            )
        return "".join(CN_DIGITS[int(d)] for d in str(n))
    if fmt in ("chineseCountingThousand", "taiwaneseCountingThousand") and n < 10**8:
        return _myriad(n, CN_DIGITS.replace("〇", "零"), "十百千", "万")
    if fmt == "chineseLegalSimplified" and n < 10**8:
        return _myriad(n, LEGAL_DIGITS, "拾佰仟", "万", short_ten=False)
    if fmt == "japaneseCounting" and n < 10**8:
        return _myriad(n, CN_DIGITS, "十百千", "万", zeros=False)
    if fmt in ("ideographTraditional", "ideographZodiac") and n <= 12:
        cycle = STEMS if fmt == "ideographTraditional" else BRANCHES
        return cycle[n - 1] if n <= len(cycle) else str(n)
    return str(n)


def _myriad(
    n: int, digits: str, units: str, wan: str, short_ten: bool = True, zeros: bool = True
) -> str:
    """Grouped counting: 2024 → 二千零二十四; ``zeros=False`` is the Japanese style
    (no 零 and no 一 before 十/百/千: 百一)."""
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        rest = _myriad(low, digits, units, wan, short_ten=False, zeros=zeros) if low else ""
        gap = digits[0] if zeros and low and low < 1000 else ""
        return _myriad(high, digits, units, wan, short_ten, zeros) + wan + gap + rest
    out, pending_zero = "", False
    for power in (3, 2, 1, 0):
        d = n // 10**power % 10
        if d == 0:
            pending_zero = bool(out)
            continue
        if pending_zero and zeros:
            out += digits[0]
        pending_zero = False
        unit = units[power - 1] if power else ""
        skip_one = d == 1 and power and (not zeros or (power == 1 and short_ten and not out))
        out += ("" if skip_one else digits[d]) + unit
    return out
