"""Plain text and Markdown: find the encoding, decode, lift a header block of ``key：value``
lines (北大法宝 exports) into metadata; normalisation does the rest.

Encodings, in the order they are trusted: a byte-order mark (UTF-8, UTF-16, UTF-32); UTF-16
without a mark (its ASCII characters leave NUL bytes all on odd or all on even offsets); strict
UTF-8; then the Chinese legacy codecs. GB18030 accepts almost any byte pair, so Big5 text
“decodes” as GB18030 into garbage (and the other way round): every codec that decodes the bytes
is scored by ``plausibility`` (the share of non-ASCII characters that are common Chinese
characters or punctuation) and the best one wins — the bundled and dev-corpus documents score
0.99–1.0, Big5 read as GB18030 about 0.3. A file no codec decodes plausibly is refused, with
a message to save it as UTF-8, rather than indexed as garbage. A handful of broken bytes in
otherwise good text (a file cut off mid-character) is decoded with replacement characters and
a note, so one bad byte does not lose a document.

Markdown: a pipe table (a header row, then a separator row such as ``| --- | :---: |``) goes
through ``rag.readers.tables.table_lines`` like HTML and Word tables, one line per row, so
rows do not run together into one sentence; lines of pipes without a separator row stay text.
Paired ``**bold**`` markers are removed (``**问：…？**`` is a question, not a heading).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

from rag.errors import UnreadableFile
from rag.readers.base import Extracted, Line, Progress
from rag.readers.tables import table_lines
from rag.zh import fold

BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
LEGACY = ("gb18030", "big5", "cp950", "big5hkscs")  # ties go to the first
PLAUSIBLE = 0.9  # least plausibility a legacy decoding needs (real documents: 0.99–1.0)…
UNCOMMON_ALLOWED = 3  # …unless it has no more than this many uncommon characters (short texts)
REPLACED_SHARE = 0.001  # at most this share of characters may be undecodable…
REPLACED_MIN = 2  # …or this many, whichever is more
SYMBOLS = (  # punctuation and symbols policy texts use, besides the CJK characters
    "\u00a0\u00b0\u00b1\u00b7\u00d7\u00f7\u2010-\u2027\u2030-\u203b\u2103\u2116\u2160-\u217f"
    "\u2190-\u2193\u2200-\u22ff\u2460-\u24ff\u25a0-\u25ff\u2605\u2606\u3000-\u3003"
    "\u3008-\u3011\u3014-\u301f\u3220-\u3229\u33a1\ufeff\uff01-\uff5e\uffe5"
    "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"  # pinyin annotations, which normalisation removes
)
SYMBOL = re.compile(f"[{SYMBOLS}]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # control characters text never has

HEADER_KEYS = {  # key as written → canonical meta key
    "法宝引证码": "法宝引证码",
    "原文链接": "原文链接",
    "发布部门": "发文机关",
    "发文机关": "发文机关",
    "制定机关": "发文机关",
    "发文字号": "发文字号",
    "发布日期": "发布日期",
    "公布日期": "发布日期",
    "实施日期": "实施日期",
    "施行日期": "实施日期",
    "时效性": "时效性",
    "效力位阶": "效力位阶",
    "效力级别": "效力位阶",
    "法规类别": "法规类别",
    "标题": "标题",
}
_KEY = "|".join(sorted(HEADER_KEYS, key=len, reverse=True))
HEADER_FIELD = re.compile(rf"【\s*({_KEY})\s*】\s*:?|({_KEY})\s*:")
FOOTER_KEYS = {"法宝引证码", "原文链接"}
BODY_MARKER = re.compile(r"^【\s*(正文|全文)\s*】$")
HEADER_ZONE = 3  # the header block ends at the third line that is not a header field
OTHER_FIELD = re.compile(r"\s[\u3400-\u9fff]{2,8}\s*:")  # "发布日期：… 来源：…": a key not ours


@dataclass(frozen=True)
class Decoded:
    text: str  # LF line ends, no byte-order mark
    encoding: str
    replaced: int = 0  # undecodable bytes shown as U+FFFD


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    decoded = detect(raw, name)
    meta, lines = header_fields(markdown_lines(decoded.text.split("\n")))
    title = meta.pop("标题", "")
    replaced = f"{decoded.replaced} undecodable byte sequence(s) replaced by �"
    notes = (replaced,) if decoded.replaced else ()
    return Extracted(
        "text", tuple(Line(line) for line in lines), meta=meta, title=title, notes=notes
    )


def decode(raw: bytes, name: str) -> str:
    """The text of a file in any encoding ``detect`` recognises.

    >>> decode("推进政策".encode("gb18030"), "x.txt"), decode("推進政策".encode("big5"), "x.txt")
    ('推进政策', '推進政策')
    """
    return detect(raw, name).text


def detect(raw: bytes, name: str) -> Decoded:
    """Decode a text file: BOM, UTF-16 by its NUL pattern, UTF-8, then the most plausible
    Chinese codec; refuse empty, binary and undecodable files with a message naming them.

    >>> detect("\\r\\n一、总则\\r".encode("utf-16-le"), "x.txt")
    Decoded(text='\\n一、总则\\n', encoding='utf-16-le', replaced=0)
    """
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file")
    decoded = _by_bom(raw, name) or _utf16_by_nuls(raw, name) or _utf8(raw) or _legacy(raw)
    if decoded is None:
        raise UnreadableFile(
            f"{name}: cannot tell the text encoding (not UTF-8, UTF-16, GB18030 or Big5 "
            "text); open it in a text editor and save it as UTF-8"
        )
    text = decoded.text.lstrip("\ufeff")
    if not text.strip():
        raise UnreadableFile(f"{name}: empty file")
    controls = len(CONTROL.findall(text))
    if controls > len(text) * 0.01:
        raise UnreadableFile(f"{name}: looks binary ({controls} control characters)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Decoded(text, decoded.encoding, decoded.replaced)


def _by_bom(raw: bytes, name: str) -> Decoded | None:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            decoded = _tolerant(raw[len(bom) :], encoding)
            if decoded is None:
                raise UnreadableFile(
                    f"{name}: starts with a {encoding} byte-order mark but is not {encoding} "
                    "text; save it as UTF-8"
                )
            return decoded
    return None


def _utf16_by_nuls(raw: bytes, name: str) -> Decoded | None:
    """UTF-16 without a BOM: the NUL high bytes of its ASCII characters (line ends, digits)
    sit on odd offsets (little-endian) or on even ones (big-endian); the side with more NULs
    decides. That is weak evidence, so the decoding must be strict and plausible by share (no
    short-text allowance). Any other file with NUL bytes is binary."""
    sample = raw[:65536]
    if b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        text = ""
    if text and plausibility(text) >= PLAUSIBLE:
        return Decoded(text, encoding)
    raise UnreadableFile(f"{name}: binary file (contains NUL bytes)")


def _utf8(raw: bytes) -> Decoded | None:
    try:
        return Decoded(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return None


def _legacy(raw: bytes) -> Decoded | None:
    """The most plausible strict decoding among the Chinese codecs, else the most plausible
    one with a few replaced bytes (UTF-8 included), else None."""
    strict: list[Decoded] = []
    for encoding in LEGACY:
        try:
            strict.append(Decoded(raw.decode(encoding), encoding))
        except UnicodeDecodeError:
            continue
    for candidates in (strict, [_tolerant(raw, e) for e in ("utf-8", *LEGACY)]):
        scored, seen = [], set()
        for n, decoded in enumerate(candidates):
            if decoded is None or decoded.text in seen:  # Big5 variants often agree
                continue
            seen.add(decoded.text)
            good, wide = _tally(decoded.text)
            scored.append((good / wide if wide else 1.0, -n, _acceptable(good, wide), decoded))
        if scored:
            _, _, acceptable, best = max(scored, key=lambda s: s[:2])
            if acceptable:
                return best
    return None


def _tolerant(raw: bytes, encoding: str) -> Decoded | None:
    """Decode, allowing a few undecodable bytes (shown as U+FFFD); None if there are more."""
    try:
        return Decoded(raw.decode(encoding), encoding)
    except UnicodeDecodeError:
        pass
    text = raw.decode(encoding, errors="replace")
    replaced = text.count("\ufffd")
    if replaced > max(REPLACED_MIN, len(text) * REPLACED_SHARE):
        return None
    return Decoded(text, encoding, replaced)


def plausibility(text: str) -> float:
    """Share of the non-ASCII characters that are punctuation or common Chinese characters of
    one script (GB2312 level 1 or Big5 常用字, whichever fits better); 1.0 for ASCII-only text.
    Replacement characters do not count.

    >>> big5 = "警務處人員根據附表執行職能時，有責任遵守條文。".encode("big5")
    >>> plausibility(big5.decode("big5")), plausibility(big5.decode("gb18030"))  # 牡叭矪…
    (1.0, 0.3)
    """
    good, wide = _tally(text)
    return round(good / wide, 2) if wide else 1.0


def plausible(text: str) -> bool:
    """Plausible enough to index: see ``PLAUSIBLE`` and ``UNCOMMON_ALLOWED``."""
    return _acceptable(*_tally(text))


def _acceptable(good: int, wide: int) -> bool:
    return good >= PLAUSIBLE * wide or wide - good <= UNCOMMON_ALLOWED


def _tally(text: str) -> tuple[int, int]:
    """(common characters of the better-fitting script + symbols, non-ASCII characters)."""
    counts = Counter(text)  # each distinct character is looked up once
    wide = {ch: n for ch, n in counts.items() if ord(ch) > 127 and ch != "\ufffd"}
    symbols = sum(n for ch, n in wide.items() if SYMBOL.match(ch))
    best = max(sum(n for ch, n in wide.items() if ch in common) for common in _common_characters())
    return symbols + best, sum(wide.values())


@functools.cache
def _common_characters() -> tuple[frozenset[str], frozenset[str]]:
    """GB2312 level 1 (3,755 common simplified characters) and Big5 level 1 (5,401 common
    traditional ones), read from the codecs themselves, so no word list ships with us. Kept
    apart: a real text is written in one script, a wrong decoding mixes both."""
    big5_trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    return (
        _decodable("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        _decodable("big5", range(0xA4, 0xC7), big5_trails),
    )


def _decodable(encoding: str, leads: range, trails) -> frozenset[str]:
    found = set()
    for lead in leads:
        for trail in trails:
            try:
                found.add(bytes((lead, trail)).decode(encoding))
            except UnicodeDecodeError:
                continue
    return frozenset(found)


SEPARATOR_CELL = re.compile(r"^\s*:?-+:?\s*$")  # ---, :---, ---:, :---:
PIPE = re.compile(r"(?<!\\)\|")  # a cell border; "\|" is a pipe inside a cell
BOLD = re.compile(  # not *** runs: documents redact names as ***
    r"(?<!\*)\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*(?!\*)|(?<!_)__(?=[^\s_])(.+?)(?<=[^\s_])__(?!_)"
)
BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
ROW_END = tuple("。！？；;:：!?…”’」』)）〕】")  # a row ending otherwise gets "。" (see below)


def markdown_lines(lines: list[str]) -> list[str]:
    """Lines with Markdown pipe tables turned into one line per row and ``**bold**`` markers
    removed. A row line that would not end a sentence gets a "。", so normalisation does not
    join the next row onto it.

    >>> markdown_lines(["| 序号 | 任务 | 牵头单位 |", "|:--:|---|---|", "| 1 | **签约** | 卫健委 |",
    ...                 "| 2 | 建档 \\\\| 随访 |", "**问：何时申报？**"])
    ['1.任务：签约（牵头单位：卫健委）', '2.任务：建档|随访。', '问：何时申报？']
    >>> markdown_lines(["A | B", "C | D"])  # no separator row: not a table
    ['A | B', 'C | D']
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _cells(lines[i])
        separator = _cells(lines[i + 1]) if i + 1 < len(lines) else None
        if not (header and separator and len(separator) == len(header)) or not all(
            SEPARATOR_CELL.match(c) for c in separator
        ):
            out.append(BOLD.sub(r"\1\2", lines[i]))
            i += 1
            continue
        rows, i = [header], i + 2
        while i < len(lines) and (row := _cells(lines[i])) is not None:
            rows.append((row + [""] * len(header))[: len(header)])  # ragged: pad or cut
            i += 1
        clean = [[_cell(c) for c in row] for row in rows]
        out += [line if line.endswith(ROW_END) else line + "。" for line in table_lines(clean)]
    return out


def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row (None when the line has no unescaped pipe).

    >>> _cells("| a | b \\\\| c |"), _cells("a|b"), _cells("no pipes")
    (['a', 'b \\\\| c'], ['a', 'b'], None)
    """
    text = line.strip()
    if not text or not PIPE.search(text):
        return None
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [c.strip() for c in PIPE.split(text)]


def _cell(text: str) -> str:
    """A Markdown cell as plain text: escaped pipes, bold markers and ``<br>`` undone (a line
    break between two names stands for 、)."""
    text = BOLD.sub(r"\1\2", text.replace("\\|", "|"))
    parts = [p.strip() for p in BREAK.split(text) if p.strip()]
    out = ""
    for part in parts:
        out += "、" if out and not out.endswith(ROW_END + ("、", "，", ",")) else ""
        out += part
    return out


def header_fields(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Move a header block of ``key：value`` (or ``【key】value``) lines at the top into meta,
    under canonical keys; also 法宝引证码/原文链接 lines at the end. 北大法宝 exports start so.

    >>> meta, rest = header_fields(["【法宝引证码】CLI.2.1", "原文链接：https://x.cn/1",
    ...                             "发布部门：国务院", "", "关于…的意见", "一、总则"])
    >>> meta, rest
    ({'法宝引证码': 'CLI.2.1', '原文链接': 'https://x.cn/1', '发文机关': '国务院'}, ['', '关于…的意见', '一、总则'])
    """  # noqa: E501
    meta: dict[str, str] = {}
    kept: list[str] = []
    others = 0
    for i, line in enumerate(lines):
        if others >= HEADER_ZONE:
            kept += lines[i:]
            break
        fields = _fields(line)
        if fields:
            meta.update({k: v for k, v in fields.items() if k not in meta})
        elif not BODY_MARKER.match(fold(line.strip())):
            others += bool(line.strip())
            kept.append(line)
    while kept and (not kept[-1].strip() or _footer(kept[-1])):
        meta.update({k: v for k, v in _footer(kept.pop()).items() if k not in meta})
    return meta, kept


def _footer(line: str) -> dict[str, str]:
    """The fields of a closing 法宝引证码/原文链接 line ({} for any other line)."""
    fields = _fields(line)
    return fields if fields.keys() <= FOOTER_KEYS else {}


def _fields(line: str) -> dict[str, str]:
    """The header fields a line consists of ({} when it does not start with one, or when it
    also holds a field we do not know: normalisation reads such a line, 来源 included).

    >>> _fields("发布日期：2026-04-10　来源：云溪市商务局"), _fields("发布部门：国务院")
    ({}, {'发文机关': '国务院'})
    """
    folded = fold(line)
    stripped = len(folded) - len(folded.lstrip())
    found = list(HEADER_FIELD.finditer(folded, stripped))
    if not found or found[0].start() != stripped:
        return {}
    fields = {}
    for m, nxt in zip(found, found[1:] + [None], strict=True):
        value = line[m.end() : nxt.start() if nxt else len(line)].strip()
        if OTHER_FIELD.search(fold(value)):
            return {}
        if value:
            fields.setdefault(HEADER_KEYS[m.group(1) or m.group(2)], value)
    return fields
