"""Chinese text helpers shared by every stage: folding for matching, sentences, unit lists.

``fold`` is the one normalisation used on documents, chunks, questions and unit names. It is
length-preserving on purpose, so an offset into folded text is the same offset into display text:

>>> fold("（一）強化區域協調　ＡＢ１２３")
'(一)强化区域协调 ab123'
>>> len(fold("推進異地就醫")) == len("推進異地就醫")
True

NFKC is not used: it can change lengths ("…" becomes "..."), which would break that promise.
Hong Kong and Taiwan texts use a few variant characters OpenCC's t2s leaves alone (衞生, 甚麼);
``fold`` maps them too, one character for one:

>>> fold("衞生署 甚麼 公共屋邨")
'卫生署 什么 公共屋村'
"""

from __future__ import annotations

import functools
import re

_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
# variant characters of Hong Kong/Taiwan print that t2s keeps (衞 of 衞生署, 邨 of 屋邨 …)
_VARIANTS = str.maketrans("衞汚蔴粧甦濶隣邨敍擧簷衹", "卫污麻妆苏阔邻村叙举檐只")
_FOLD = _WIDTH | _VARIANTS
# 甚麼 is 什么 in HK/Taiwan writing (t2s gives 甚么); same length, so it is folded as well
_PHRASES = (("甚么", "什么"),)
_OPEN = "(（〔【[《“‘「『〈"
_CLOSE = ")）〕】]》”’」』〉"
_PAIRS = dict(zip(_CLOSE, _OPEN, strict=True))
SENTENCE_END = "。！？；;"
# A bracket right after a sentence end belongs to that sentence (an annotation such as
# 〔责任单位:…〕, a remark such as （此件公开发布）) unless it numbers what follows: （二）, (3).
_REMARK_OPEN = "(（〔【["
_ENUMERATOR = re.compile(r"\s*([一二三四五六七八九十百零〇]{1,3}|\d{1,3}|[a-z]|[ivx]{1,4})\s*")


@functools.cache
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified, never changing the length (phrase rules that would are skipped).

    >>> to_simplified("紹興柯橋")
    '绍兴柯桥'
    """
    cc = _t2s()
    out = []
    for line in text.split("\n"):
        converted = cc.convert(line)
        if len(converted) != len(line):
            converted = "".join(c2 if len(c2 := cc.convert(c)) == 1 else c for c in line)
        out.append(converted)
    return "\n".join(out)


def fold(text: str) -> str:
    """The matching form of a text: simplified, half-width, ASCII lower-case; same length."""
    folded = to_simplified(text).translate(_FOLD).lower()
    for variant, standard in _PHRASES:
        folded = folded.replace(variant, standard)
    return folded


def bracket_pairs(text: str) -> dict[int, int]:
    """Map each opening bracket/quote offset to its matching closer; unmatched ones are left out.

    >>> bracket_pairs("a(b〔c〕)d(")
    {3: 5, 1: 6}
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPEN:
            stack.append(i)
        elif ch in _PAIRS:
            for depth in range(len(stack) - 1, -1, -1):  # tolerate a stray opener inside
                if text[stack[depth]] == _PAIRS[ch]:
                    pairs[stack[depth]] = i
                    del stack[depth:]
                    break
        elif ch == "\n":
            stack.clear()
    return pairs


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, split after 。！？；; and at line ends.

    Terminators inside brackets or quotes do not split; closing quotes and a bracket right
    after the end (an annotation or any remark, not a number like （二）) stay with the sentence.

    >>> t = "推进结算。〔责任单位:区医保局〕加强合作(一是;二是)。完"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['推进结算。〔责任单位:区医保局〕', '加强合作(一是;二是)。', '完']
    >>> t = "包括：（一）甲；（二）乙。（2018年修订）丙。"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['包括：（一）甲；', '（二）乙。（2018年修订）', '丙。']
    """
    end = len(text) if end is None else end
    pairs = bracket_pairs(text[start:end])
    spans: list[tuple[int, int]] = []
    i, s = start, start
    while i < end:
        ch = text[i]
        if ch in _OPEN and (i - start) in pairs:
            i = start + pairs[i - start] + 1
            continue
        if ch == "\n" and _continues(text, s, i, end):
            i += 1
            continue
        if ch == "\n":
            if text[s:i].strip():
                spans.append((s, i))
            i += 1
            s = i
            continue
        i += 1
        if ch in SENTENCE_END:
            while i < end:
                if text[i] in _CLOSE or text[i] in SENTENCE_END:
                    i += 1
                elif _remark_at(text, j := _skip_spaces(text, i, end), start, pairs):
                    i = start + pairs[j - start] + 1
                else:
                    break
            spans.append((s, i))
            s = i
    if text[s:end].strip():
        spans.append((s, end))
    return [_trim(text, a, b) for a, b in spans]


# a line that ends on a comma or 、 was broken by the page (PDF print), unless an item follows
_MID_SENTENCE = "，,、"
_LINE_ITEM = re.compile(
    r"[ \t\u3000]*(?:[(（〔【•·●▪◆\-—]|[一二三四五六七八九十\d]{1,3}\s*[、.．]"
    r"|第\s*[一二三四五六七八九十百零〇\d]+\s*[章节節条條款项項部编編篇])"
)


# “(a) 第2類監察” on a line of its own, its bullet “• 行政長官。” on the next: one sentence
_LABEL_LINE = re.compile(
    r"\s*[(（]\s*(?:[a-z]|[ivx]{1,4}|\d{1,2}|[一二三四五六七八九十]{1,3})\s*[)）][^。！？；;，,、：:]{1,40}"
)
_BULLET = re.compile(r"[ \t\u3000]*[•●▪◆·]")


def _continues(text: str, s: int, i: int, end: int) -> bool:
    """Does the sentence go on past the line end at ``i`` (``text[s:i]`` its first part)?

    >>> t = "國家通過普及理想教育、文化教育、\\n紀律和法制教育。"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['國家通過普及理想教育、文化教育、\\n紀律和法制教育。']
    >>> t = "(a) 截取\\n• 行政長官。\\n• 處長。"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['(a) 截取\\n• 行政長官。', '• 處長。']
    >>> t = "包括以下事項，\\n(一) 甲；\\n一、乙"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['包括以下事項，', '(一) 甲；', '一、乙']
    """
    part = text[s:i].rstrip(" \t\u3000")
    nxt = text[i + 1 : end]
    if len(part) <= 50 and _BULLET.match(nxt) and _LABEL_LINE.fullmatch(fold(part)):
        return True
    return (
        len(part) > 2
        and part[-1] in _MID_SENTENCE
        and bool(nxt.strip())
        and not nxt.startswith("\n")
        and not _LINE_ITEM.match(nxt)
    )


def _skip_spaces(text: str, i: int, end: int) -> int:
    while i < end and text[i] in " \t\u3000":
        i += 1
    return i


def _remark_at(text: str, i: int, start: int, pairs: dict[int, int]) -> bool:
    """Is ``text[i]`` a bracket that stays with the sentence before it?"""
    if i >= len(text) or text[i] not in _REMARK_OPEN or (i - start) not in pairs:
        return False
    body = fold(text[i + 1 : start + pairs[i - start]])
    return not _ENUMERATOR.fullmatch(body)


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def split_units(text: str) -> tuple[str, ...]:
    """Split a unit list on 、,，;； outside brackets.

    >>> split_units("人社局、社管局(综合治理中心),各街道(镇)")
    ('人社局', '社管局(综合治理中心)', '各街道(镇)')
    """
    units, depth, cur = [], 0, []
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if depth == 0 and ch in "、,，;；":
            units.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    units.append("".join(cur).strip())
    return tuple(u for u in units if u)
