"""The numbered headings a paragraph can start with: one ordered table, outermost first.

Both reading (``rag.normalize``: a heading line never continues the previous line) and
structuring (``rag.clauses``: a heading of rank r closes every open clause of rank ≥ r) use this
one table, so adding a level is one line here. Patterns match the folded line (``rag.zh.fold``:
simplified, half-width), so 第一條, （一） and １． are found like 第一条, (一) and 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.zh import fold

CN = "[一二三四五六七八九十百零〇]"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
SHORT_REST = r"[^\s\d][^。,;:!?]{0,28}$"  # a bare "1 总则" is a heading only as a short title line
LETTER_REST = r"\s+[^\s\d][^。,;:!?]{0,38}$"  # "A. 概論", "C1. 有關當局": a title line, never prose
HEADINGS: list[tuple[str, re.Pattern[str]]] = [
    ("附件", re.compile(r"附[件表](?:\s*[0-9一二三四五六七八九十]+(?=\s*:?\s*$)|(?=\s*$))")),
    ("编", re.compile(rf"第{CN}+编")),
    ("部分", re.compile(rf"第{CN}+部分")),
    ("章", re.compile(rf"第{CN}+章")),
    ("节", re.compile(rf"第{CN}+节")),
    ("A.", re.compile(rf"[a-z]\.(?={LETTER_REST})")),
    ("A1.", re.compile(rf"[a-z]\d{{1,2}}\.(?={LETTER_REST})")),
    ("条", re.compile(rf"第{CN}+条")),
    ("一、", re.compile(rf"{CN}+、")),
    ("(一)", re.compile(rf"\({CN}+\)")),
    ("1.", re.compile(rf"\d{{1,3}}(?:[.﹒](?!\d)|、)|\d{{1,2}}(?=\s+{SHORT_REST})")),
    ("1.1", re.compile(r"\d{1,2}\.\d{1,2}(?=\s)")),
    ("1.1.1", re.compile(r"\d{1,2}\.\d{1,2}\.\d{1,2}(?=\s)")),
    ("(1)", re.compile(r"\(\d{1,3}\)")),
    ("①", re.compile(f"[{CIRCLED}]")),
    ("专栏", re.compile(r"专栏\s*[0-9一二三四五六七八九十]+")),
]
CHAPTER_KINDS = frozenset({"编", "部分", "章", "节"})  # may share a line with its first article


@dataclass(frozen=True)
class HeadingMatch:
    kind: str
    rank: float
    label: str


def heading_at(line: str) -> HeadingMatch | None:
    """The numbered heading a paragraph starts with, if any.

    >>> heading_at("（四）完善基础设施").label, heading_at("16.医保跨省结算。").kind
    ('（四）', '1.')
    >>> heading_at("2.0平台") is None, heading_at("1.5倍以上") is None
    (True, True)
    >>> [heading_at(s).kind for s in ("1　总则", "1.2　等级划分", "1.2.1　国家级", "第三條")]
    ['1.', '1.1', '1.1.1', '条']
    >>> [heading_at(s).label for s in ("附表3", "C. 訂明授權", "C1. 有關當局")]
    ['附表3', 'C.', 'C1.']
    """
    folded = fold(line)
    for rank, (kind, pattern) in enumerate(HEADINGS):
        m = pattern.match(folded)
        if m:
            return HeadingMatch(kind, rank, line[: m.end()].strip())
    return None


def rank_of(kind: str) -> int:
    """The table position of a heading kind (smaller is outer).

    >>> rank_of("章") < rank_of("条") < rank_of("(1)")
    True
    """
    return next(rank for rank, (k, _) in enumerate(HEADINGS) if k == kind)
