"""Stage 2: ``Document`` → ``ClauseTree`` (clauses with paths, responsibility annotations).

The heading patterns are one ordered table, outermost first; adding a level is one line. A heading
of rank r closes every open clause of rank ≥ r, so "1." items nest under "一、" or under "(一)"
alike, whichever is open. Inline enumerations (一是…二是…) become child clauses of the paragraph's
clause. Documents without numbering (newspaper pages, articles) are structured by their short
heading lines instead: article › heading when the page carries bylines (本报讯), else one level.

Responsibility annotations — 〔责任单位:…〕, (牵头单位:…;参与单位:…), a 责任单位：… line — cover
the text of their item since the previous annotation in that item, so an item with three
sentences and three annotations yields three ``Responsibility`` spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Clause, ClauseTree, Document, Responsibility
from rag.zh import (
    ANNOTATION_OPEN,
    LEAD_KEYS,
    PART_KEYS,
    bracket_pairs,
    fold,
    sentence_spans,
    split_units,
)

CN = "[一二三四五六七八九十百零〇]"
HEADINGS: list[tuple[str, re.Pattern[str]]] = [
    ("附件", re.compile(r"附件\s*[0-9一二三四五六七八九十]+(?=\s*:?\s*$)")),
    ("编", re.compile(rf"第{CN}+编")),
    ("章", re.compile(rf"第{CN}+章")),
    ("节", re.compile(rf"第{CN}+节")),
    ("条", re.compile(rf"第{CN}+条")),
    ("一、", re.compile(rf"{CN}+、")),
    ("(一)", re.compile(rf"\({CN}+\)")),
    ("1.", re.compile(r"\d{1,3}(?:\.(?!\d)|、)")),
    ("(1)", re.compile(r"\(\d{1,3}\)")),
]
INLINE = re.compile(rf"{CN}{{1,3}}是")  # 一是…二是… at the start of a sentence
INLINE_RANK = len(HEADINGS)
TITLE_STOP = re.compile(r"[。；;:!?！？]")
UNIT_KEY = re.compile(rf"({'|'.join(LEAD_KEYS + PART_KEYS)})\s*:")
BYLINE = re.compile(r"^(本报讯|本报通讯员|本报记者|通讯员|记者)")
CREDIT = re.compile(r"摄\)?$")
NO_HEADING_PUNCT = re.compile(r"[。，、；：！？,;:!?]")


@dataclass(frozen=True)
class HeadingMatch:
    kind: str
    rank: int
    label: str


@dataclass
class _Node:
    kind: str
    rank: int
    label: str
    title: str
    start: int
    end: int
    parent: int | None
    sep: str = ""  # "第一章 总则" keeps its space in the path; "16.医保跨省结算" has none


def heading_at(line: str) -> HeadingMatch | None:
    """The numbered heading a paragraph starts with, if any.

    >>> heading_at("（四）完善基础设施").label, heading_at("16.医保跨省结算。").kind
    ('（四）', '1.')
    >>> heading_at("2.0平台") is None
    True
    """
    folded = fold(line)
    for rank, (kind, pattern) in enumerate(HEADINGS):
        m = pattern.match(folded)
        if m:
            return HeadingMatch(kind, rank, line[: m.end()].strip())
    return None


def short_title(text: str, limit: int = 40) -> str:
    """The heading's own words: up to the first sentence end, if short enough.

    >>> short_title("医保跨省结算。发挥江北区优势")
    '医保跨省结算'
    """
    m = TITLE_STOP.search(fold(text))
    title = (text[: m.start()] if m else text).strip()
    return title if len(title) <= limit else ""


def parse_clauses(doc: Document) -> ClauseTree:
    text = doc.text
    paragraphs = _paragraphs(text)
    body = paragraphs[1:]  # line 1 is the title
    if sum(heading_at(text[s:e]) is not None for s, e in body) >= 3:
        nodes = _numbered(text, body)
    else:
        nodes = _titled(text, paragraphs)
    nodes += _inline(text, paragraphs, nodes)
    clauses = _freeze(nodes)
    return ClauseTree(doc, clauses, _responsibilities(text, paragraphs, clauses))


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _numbered(text: str, paragraphs: list[tuple[int, int]]) -> list[_Node]:
    nodes: list[_Node] = []
    stack: list[int] = []
    skip_title_of: _Node | None = None
    for s, e in paragraphs:
        line = text[s:e]
        h = heading_at(line)
        if skip_title_of is not None:
            node, skip_title_of = skip_title_of, None
            if h is None and len(line) <= 60 and "。" not in line:
                node.title, node.end = line, e
                continue
        if h is not None:
            while stack and nodes[stack[-1]].rank >= h.rank:
                stack.pop()
            rest = line[len(h.label) :]
            title = "" if h.kind == "附件" else short_title(rest)
            sep = " " if title and rest[:1].isspace() else ""
            parent = stack[-1] if stack else None
            nodes.append(_Node(h.kind, h.rank, h.label, title, s, e, parent, sep))
            stack.append(len(nodes) - 1)
            if h.kind == "附件":
                skip_title_of = nodes[-1]
        for i in stack:
            nodes[i].end = e
    return nodes


def _is_heading_line(line: str) -> bool:
    return (
        len(line) <= 30
        and not NO_HEADING_PUNCT.search(fold(line))
        and not BYLINE.match(line)
        and not CREDIT.search(line)
    )


def _titled(text: str, paragraphs: list[tuple[int, int]]) -> list[_Node]:
    """Headings of an unnumbered text: runs of short lines without sentence punctuation."""
    runs: list[list[int]] = []  # paragraph indices of each heading run
    for i, (s, e) in enumerate(paragraphs):
        if not _is_heading_line(text[s:e]):
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    newspaper = any(BYLINE.match(text[s:e]) for s, e in paragraphs)
    nodes: list[_Node] = []
    article: int | None = None
    for n, run in enumerate(runs):
        lines = [text[slice(*paragraphs[i])] for i in run]
        block_end = runs[n + 1][0] - 1 if n + 1 < len(runs) else len(paragraphs) - 1
        start, end = paragraphs[run[0]][0], paragraphs[block_end][1]
        if not newspaper:
            nodes.append(_Node("标题", 0, "", " ".join(lines), start, end, None))
            continue
        after = run[-1] + 1
        is_article = (
            n == 0
            or len(run) > 1
            or (after < len(paragraphs) and BYLINE.match(text[slice(*paragraphs[after])]))
            or CREDIT.search(text[slice(*paragraphs[block_end])])
        )
        title = [line for line in lines if not line.startswith("——")][-1]
        if is_article:
            nodes.append(_Node("文章", 0, "", title, start, end, None))
            article = len(nodes) - 1
        else:
            nodes.append(_Node("标题", 1, "", title, start, end, article))
            if article is not None:
                nodes[article].end = end
    return nodes


def _inline(text: str, paragraphs: list[tuple[int, int]], nodes: list[_Node]) -> list[_Node]:
    """一是…二是… points inside a paragraph become children of that paragraph's clause."""
    found: list[_Node] = []
    for s, e in paragraphs:
        starts = [a for a, _ in sentence_spans(text, s, e) if INLINE.match(text, a)]
        if len(starts) < 2 or not text.startswith("一是", starts[0]):
            continue
        owner = _deepest(nodes, starts[0])
        for a, b in zip(starts, starts[1:] + [e], strict=True):
            label = INLINE.match(text, a).group()
            title = short_title(text[a + len(label) : b])
            found.append(_Node("一是", INLINE_RANK, label, title, a, b, owner))
    return found


def _deepest(nodes: list[_Node], offset: int) -> int | None:
    best = None
    for i, n in enumerate(nodes):
        if n.start <= offset < n.end and (best is None or n.rank > nodes[best].rank):
            best = i
    return best


def _freeze(nodes: list[_Node]) -> tuple[Clause, ...]:
    order = sorted(range(len(nodes)), key=lambda i: (nodes[i].start, nodes[i].rank))
    new_index = {old: new for new, old in enumerate(order)}
    clauses: list[Clause] = []
    for old in order:
        n = nodes[old]
        parent = new_index[n.parent] if n.parent is not None else None
        part = n.label if n.kind == "附件" else n.label + n.sep + n.title
        path = (clauses[parent].path if parent is not None else ()) + (part,)
        clauses.append(Clause(len(clauses), parent, n.kind, n.label, n.title, path, n.start, n.end))
    return tuple(clauses)


def _responsibilities(
    text: str, paragraphs: list[tuple[int, int]], clauses: tuple[Clause, ...]
) -> tuple[Responsibility, ...]:
    notes = _annotations(text, paragraphs)
    found: list[Responsibility] = []
    previous_end: dict[int | None, int] = {}
    for note_start, note_end, lead, participants in notes:
        item = _item_at(clauses, note_start)
        para_start = next(s for s, e in paragraphs if s <= note_start <= e)
        key = item.index if item else para_start
        start = max(item.start if item else para_start, previous_end.get(key, 0))
        while start < note_start and (text[start].isspace() or text[start] in ";；,，。"):
            start += 1
        previous_end[key] = note_end
        found.append(Responsibility(lead, participants, start, note_start, note_start, note_end))
    return tuple(found)


def _item_at(clauses: tuple[Clause, ...], offset: int) -> Clause | None:
    """Deepest line-level clause at offset: an annotation closes the whole item, 一是… included."""
    best = None
    for c in clauses:
        if c.kind != "一是" and c.start <= offset < c.end:
            if best is None or len(c.path) > len(best.path):
                best = c
    return best


def _annotations(text: str, paragraphs: list[tuple[int, int]]):
    """(start, end, lead, participants) of every annotation, in document order."""
    pairs = bracket_pairs(text)
    notes = []
    for m in ANNOTATION_OPEN.finditer(text):
        if m.start() in pairs:
            end = pairs[m.start()] + 1
            notes.append((m.start(), end, *parse_units(text[m.end() : end - 1])))
    for s, e in paragraphs:  # a line of its own: 责任单位：区医保局
        if UNIT_KEY.match(fold(text[s:e])):
            notes.append((s, e, *parse_units(text[s:e])))
    return sorted(notes)


def parse_units(note: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split an annotation body into (lead, participating) units.

    >>> parse_units("牵头单位:人社局、社管局(综合治理中心);参与单位:经促局、各城市管理办事处")
    (('人社局', '社管局(综合治理中心)'), ('经促局', '各城市管理办事处'))
    """
    folded = fold(note)
    keys = list(UNIT_KEY.finditer(folded))
    lead: list[str] = []
    participants: list[str] = []
    for m, nxt in zip(keys, keys[1:] + [None], strict=True):
        units = split_units(note[m.end() : nxt.start() if nxt else len(note)].strip(" ;；"))
        (lead if m.group(1) in LEAD_KEYS else participants).extend(units)
    return tuple(lead), tuple(participants)


def find_clauses(tree: ClauseTree, query: str) -> list[Clause]:
    """Clauses named by a full path, a path tail ("(四)… › 16.医保跨省结算") or a label ("16.")."""
    q = fold(query).replace(" ", "")
    paths = [(c, fold(c.path_text).replace(" ", "")) for c in tree.clauses]
    for test in (lambda p: p == q, lambda p: p.endswith(q)):
        found = [c for c, p in paths if test(p)]
        if found:
            return found
    return [c for c in tree.clauses if fold(c.path[-1]).startswith(q)]
