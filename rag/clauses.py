"""Stage 2: ``Document`` → ``ClauseTree`` (clauses with paths, responsibility annotations).

The heading patterns are one ordered table, outermost first (``rag.headings``). A heading of rank
r closes every open clause of rank ≥ r, so "1." items nest under "一、" or under "(一)" alike,
whichever is open. A chapter heading may share its line with the first article ("第一章　总则
第一条…"): the article's clause then starts mid-line. Inline enumerations (一是…二是…) become
child clauses of the paragraph's clause. Documents without numbering (newspaper pages, articles)
are structured by their short heading lines instead: article › heading when the page carries
bylines (本报讯), else one level.

Above the numbering: a document printed inside another (the 方案 under the notice that issues
it, each law of a booklet) is a top-level clause named after it, when its name is a short line
the title or a 《…》 gives; a short unnumbered line right over a numbering that starts again
(“面向单位的扶持政策” over 一、) heads that numbering. A 目录's entries are not headings: the body
starts where its first entry comes again.

A clause's first sentence is its title ("（一）加强组织领导。") only when the clause continues
after it: a one-sentence item or article is content, not a heading.

Responsibility annotations (``rag.annotations``) cover the text of their item since the previous
annotation in that item, so an item with three sentences and three annotations yields three
``Responsibility`` spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.annotations import Annotation, find_annotations
from rag.headings import CHAPTER_KINDS, CN, HEADINGS, HeadingMatch, heading_at
from rag.types import Clause, ClauseTree, Document, Responsibility
from rag.zh import fold, sentence_spans

__all__ = ["HEADINGS", "HeadingMatch", "find_clauses", "heading_at", "parse_clauses"]

INLINE = re.compile(rf"{CN}{{1,3}}是")  # 一是…二是… at the start of a sentence
INLINE_RANK = len(HEADINGS)
TITLE_STOP = re.compile(r"[。；;:!?！？]")
SEP = re.compile(r"[\s:]*")  # between a heading's number and its title: "第一部分：…", "1　总则"
ARTICLE_AFTER = re.compile(rf"\s+(?=第{CN}+[条节章])")  # "第一章　总则　　第一条…"
ATTACHMENT_LIST = re.compile(r"附件\s*:\s*(?:(\d{1,2})\s*[.、﹒]|$)")  # "附件：1.…", "2.…" lines
BYLINE = re.compile(r"^(本报讯|本报通讯员|本报记者|通讯员|记者)")
CREDIT = re.compile(r"摄\)?$")
NO_HEADING_PUNCT = re.compile(r"[。，；：！？,;:!?]")  # "、" may appear: "党建、治理双提升"
ARTICLE_TITLE = 15  # a run-in article heading is a short noun phrase: "第三条 载体建设。"
SPACE = re.compile(r"\s+")
CONTENT_SKIP = " \t\u3000\n。；;，,：:"
CONTENTS = re.compile(r"^目\s*录$")  # a table of contents: its entries are not the headings
# a document printed inside another (印发 notice + 方案, a booklet of laws) ends like this
DOCUMENT_NAME = re.compile(
    r"(意见|方案|计划|办法|规定|决定|细则|纲要|预案|措施|规划|要点|条例|规则|指引|指南|宪法|基本法)$"
)
QUOTED_NAME = re.compile(r"《([^《》]{4,60})》")
FOOTNOTE_MARK = "*＊※"
REFERENCE = re.compile(r"^\[[^\]]{1,30}\]$")  # “[第2條及附表7]” under a schedule's number
EMBEDDED = "文件"  # the kind of an embedded document's node (its name is its title, no label)
NUMERAL = r"\d一二三四五六七八九十〇○零"
DATE_LINE = re.compile(rf"^[{NUMERAL}]{{2,4}}年[{NUMERAL}]{{1,3}}月(?:[{NUMERAL}]{{1,3}}日)?$")
# an issuer/date line (甲市市场监督管理局 2026年3月修订) is no heading over what follows
DATED_END = re.compile(
    rf"[{NUMERAL}]{{2,4}}\s*年(?:\s*[{NUMERAL}]{{1,3}}\s*月(?:\s*[{NUMERAL}]{{1,3}}\s*日)?)?"
    r"\s*(?:修订|修正|印发|发布|制定|起施行|施行)?$"
)
SECTION = "标题"  # an unnumbered heading line over a numbering that starts again (一、…)


@dataclass
class _Node:
    kind: str
    rank: float  # a section line sits half a rank above the numbering it heads
    label: str
    title: str
    start: int
    end: int
    parent: int | None
    sep: str = ""  # "第一章 总则" keeps its space in the path; "16.医保跨省结算" has none
    title_end: int = 0  # where the title's sentence stops: the clause must go on after it


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
    notes = find_annotations(text)
    if sum(heading_at(text[s:e]) is not None for s, e in body) >= 3:
        nodes = _numbered(text, body)
    else:
        nodes = _titled(text, paragraphs)
    nodes += _inline(text, paragraphs, nodes)
    _drop_lone_titles(text, nodes, notes)
    clauses = _freeze(nodes)
    return ClauseTree(doc, clauses, _responsibilities(text, paragraphs, clauses, notes))


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _segments(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """A paragraph's heading-led pieces: "第一章　总则　　第一条…" is the chapter, then the article.

    >>> t = "第一章　总则　　第一条　为了规范。"
    >>> [t[a:b] for a, b in _segments(t, 0, len(t))]
    ['第一章　总则', '第一条　为了规范。']
    """
    h = heading_at(text[s:e])
    if h is None or h.kind not in CHAPTER_KINDS:
        return [(s, e)]
    after = s + len(h.label)
    m = ARTICLE_AFTER.search(fold(text[after:e]))
    inner = heading_at(text[after + m.end() : e]) if m else None
    if m is None or inner is None or inner.rank <= h.rank:
        return [(s, e)]
    return [(s, after + m.start()), *_segments(text, after + m.end(), e)]


def document_names(text: str) -> set[str]:
    """Names a document gives other documents: its own title line's and every 《…》, folded.

    >>> sorted(document_names("关于印发《甲市乙办法》的通知\\n现将《甲市乙办法》印发给你们。"))
    ['关于印发《甲市乙办法》的通知', '甲市乙办法']
    """
    folded = fold(text)
    return {folded.split("\n", 1)[0], *QUOTED_NAME.findall(folded)}


def embedded_title(line: str, names: set[str]) -> str:
    """The line's text when it is the name of a document printed here (“国家职业教育改革实施方案”
    under the notice that issues it), else "": a short line without sentence punctuation that
    ends like a document's name and that the title or a 《…》 names.

    >>> names = document_names("国务院关于印发国家粮食应急预案的函\\n现将《甲基本法》公布。")
    >>> embedded_title("国家粮食应急预案", names), embedded_title("甲基本法*", names)
    ('国家粮食应急预案', '甲基本法')
    >>> embedded_title("乙市丙办法", names), embedded_title("一、实施方案", names)
    ('', '')
    """
    name = line.strip().rstrip(FOOTNOTE_MARK)
    folded = fold(name)
    if not 2 <= len(name) <= 60 or NO_HEADING_PUNCT.search(folded) or heading_at(name):
        return ""
    if not DOCUMENT_NAME.search(folded):
        return ""
    short = folded.removeprefix("关于")  # “关于推进…实施方案” under “…关于印发推进…实施方案的通知”
    named = folded in names or len(short) >= 6 and any(short in n for n in names)
    return name if named else ""


def _numbered(text: str, paragraphs: list[tuple[int, int]]) -> list[_Node]:
    nodes: list[_Node] = []
    stack: list[int] = []
    skip_title_of: _Node | None = None
    listed = 0  # the number the attachment list "附件：1.… 2.…" expects next
    contents: str | None = None  # inside a table of contents: its first entry, once seen
    names = document_names(text)
    pieces = [piece for s, e in paragraphs for piece in _segments(text, s, e)]
    following = [heading_at(text[s:e]) for s, e in pieces[1:]] + [None]
    for (s, e), after in zip(pieces, following, strict=True):
        line = text[s:e]
        h = heading_at(line)
        h, contents = _in_contents(line, h, contents)
        if listed and h is not None and h.kind == "1." and h.label.startswith(str(listed)):
            h, listed = None, listed + 1  # an item of the attachment list, not a heading
        elif m := ATTACHMENT_LIST.match(fold(line)):
            listed = int(m.group(1)) + 1 if m.group(1) else 1
        else:
            listed = 0
        if skip_title_of is not None:
            node, skip_title_of = skip_title_of, None
            if h is None and REFERENCE.match(fold(line)):  # “附表1 [第2條]”: the title comes next
                skip_title_of = node
            elif h is None and len(line) <= 60 and "。" not in line:
                node.title, node.end = line, e
                continue
        if h is not None and h.kind == "专栏" and stack:  # a box sits beside the open clause
            h = HeadingMatch(h.kind, nodes[stack[-1]].rank, h.label)
        if h is None and not any(nodes[i].kind == "附件" for i in stack):
            name = embedded_title(line, names)
            if name and not (stack and _squashed(nodes[stack[0]].title) == _squashed(name)):
                stack.clear()
                nodes.append(_Node(EMBEDDED, 0, "", name, s, e, None))
                stack.append(len(nodes) - 1)
            elif not name and contents is None and after is not None and opens_series(after):
                if section_line(line):  # “面向单位的扶持政策” over 一、…
                    h = HeadingMatch(SECTION, after.rank - 0.5, "")
        if h is not None:
            while stack and nodes[stack[-1]].rank >= h.rank:
                stack.pop()
            nodes.append(_heading_node(text, s, e, h, stack[-1] if stack else None))
            stack.append(len(nodes) - 1)
            if h.kind == "附件":
                skip_title_of = nodes[-1]
        for i in stack:
            nodes[i].end = e
    return nodes


def section_line(line: str) -> bool:
    """Can an unnumbered line head the numbered items under it? A short title, not a date, a
    bracketed remark, a 目录 line or a lead-in (“鑑於——”).

    >>> [section_line(s) for s in ("面向单位的扶持政策", "基本原則", "党建、治理双提升")]
    [True, True, True]
    >>> [section_line(s) for s in ("2023年8月9日", "二〇〇六年九月七日", "（2018年修订）", "鑑於——",
    ...                            "目　录", "现提出如下意见：", "第54次常务会议修订通过）")]
    [False, False, False, False, False, False, False]
    >>> section_line("甲市市场监督管理局 2026年3月修订"), section_line("乙县人民政府　2025年")
    (False, False)
    """
    folded = fold(line.strip())
    return (
        _is_heading_line(line)
        and not DATE_LINE.match(folded)
        and not DATED_END.search(folded)
        and not CONTENTS.match(_squashed(line))
        and folded[:1] not in "([【〔"
        and folded[-1:] not in ")]】〕—"
    )


def opens_series(h: HeadingMatch) -> bool:
    """Is the heading the first of its numbering (一、, （一）, 1., 第一章, A.…)?

    >>> first = ("一、总则", "（一）甲", "第一章 总则", "C1. 甲", "1.1 乙")
    >>> [opens_series(heading_at(s)) for s in first]
    [True, True, True, True, True]
    >>> later = ("三、乙", "12.丙", "1.2 丁", "第十一条 戊", "D2. 己")
    >>> [opens_series(heading_at(s)) for s in later]
    [False, False, False, False, False]
    """
    last = re.split(r"[.﹒]", fold(h.label).strip("第()、.﹒: "))[-1]  # 1.2 → 2
    return re.sub(rf"^[a-z](?=\d)|(?<={CN})[编部分章节条]$", "", last) in ("一", "1", "a")


def _in_contents(
    line: str, h: HeadingMatch | None, contents: str | None
) -> tuple[HeadingMatch | None, str | None]:
    """Inside a table of contents (after a 目录 line) headings are entries, up to the line that
    repeats the first entry: there the body starts. ``contents`` is None outside one, "" before
    its first entry, else that entry.

    >>> h = heading_at("1　总则")
    >>> _in_contents("1　总则", h, ""), _in_contents("1　总则", h, "1总则")[0] is h
    ((None, '1总则'), True)
    """
    squashed = _squashed(line)
    if CONTENTS.match(squashed):
        return None, ""
    if contents is None:
        return h, None
    if not contents:
        if h is not None:
            return None, squashed
        return None, (None if len(line) > 40 else "")
    if squashed == contents:
        return h, None
    if h is None and len(line) > 40:  # prose: the contents ended without repeating itself
        return h, None
    return None, contents


def _heading_node(text: str, s: int, e: int, h: HeadingMatch, parent: int | None) -> _Node:
    line = text[s:e]
    rest = line[len(h.label) :]
    gap = SEP.match(fold(rest)).end()
    title = "" if h.kind == "附件" else short_title(rest[gap:])
    if h.kind == "条" and (len(title) > ARTICLE_TITLE or NO_HEADING_PUNCT.search(fold(title))):
        title = ""  # an article's first sentence is content unless it is a run-in "载体建设。"
    sep = ""
    if title and gap:
        sep = "：" if ":" in fold(rest[:gap]) else " "
    title_end = s + len(h.label) + gap + len(title)
    return _Node(h.kind, h.rank, h.label, title, s, e, parent, sep, title_end)


def _drop_lone_titles(text: str, nodes: list[_Node], notes: list[Annotation]) -> None:
    """A first sentence is a title only if its clause goes on after it (annotations aside)."""
    ends = {a.start: a.end for a in notes}
    for n in nodes:
        if n.title and n.title_end and not _goes_on(text, n.title_end, n.end, ends):
            n.title, n.sep = "", ""


def _goes_on(text: str, pos: int, end: int, notes: dict[int, int]) -> bool:
    while pos < end:
        if pos in notes:
            pos = notes[pos]
        elif text[pos] in CONTENT_SKIP:
            pos += 1
        else:
            return True
    return False


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
    if not newspaper:  # the title's own lines (title, 文号) and a closing signature head nothing
        last = len(paragraphs) - 1
        runs = [run for run in runs if run[0] != 0 and run[-1] < last]
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
            end = a + len(label) + len(title)
            found.append(_Node("一是", INLINE_RANK, label, title, a, b, owner, "", end))
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
    text: str,
    paragraphs: list[tuple[int, int]],
    clauses: tuple[Clause, ...],
    notes: list[Annotation],
) -> tuple[Responsibility, ...]:
    found: list[Responsibility] = []
    previous_end: dict[int | None, int] = {}
    for note in notes:
        item = _item_at(clauses, note.start)
        para_start = next(s for s, e in paragraphs if s <= note.start <= e)
        key = item.index if item else para_start
        start = max(item.start if item else para_start, previous_end.get(key, 0))
        while start < note.start and (text[start].isspace() or text[start] in ";；,，。"):
            start += 1
        previous_end[key] = note.end
        units = note.lead, note.participants
        covered = start, note.start, note.start, note.end
        found.append(Responsibility(*units, *covered, note.deadline, note.other))
    return tuple(found)


def _item_at(clauses: tuple[Clause, ...], offset: int) -> Clause | None:
    """Deepest line-level clause at offset: an annotation closes the whole item, 一是… included."""
    best = None
    for c in clauses:
        if c.kind != "一是" and c.start <= offset < c.end:
            if best is None or len(c.path) > len(best.path):
                best = c
    return best


def bare_heading(text: str, clause: Clause | None, start: int, end: int) -> bool:
    """Is ``text[start:end]`` only its clause's number and title ("(一)加强组织领导。"), with the
    clause going on after it? A one-sentence item is content, never a bare heading.

    >>> t = "1.组织领导。要加强。"
    >>> c = Clause(0, None, "1.", "1.", "组织领导", ("1.组织领导",), 0, len(t))
    >>> from dataclasses import replace
    >>> bare_heading(t, c, 0, 7), bare_heading(t, replace(c, end=7), 0, 7)
    (True, False)
    """
    if clause is None:
        return False
    words = text[start:end].rstrip("。；;:： \u3000")
    return _squashed(words) == _squashed(clause.path[-1]) and _goes_on(text, end, clause.end, {})


def _squashed(words: str) -> str:
    """Text as a path compares it: "第一章　总　则" is the clause "第一章 总　则"."""
    return SPACE.sub("", fold(words))


def find_clauses(tree: ClauseTree, query: str) -> list[Clause]:
    """Clauses named by a full path, a path tail ("(四)… › 16.医保跨省结算") or a label ("16.")."""
    q = fold(query).replace(" ", "")
    paths = [(c, fold(c.path_text).replace(" ", "")) for c in tree.clauses]
    for test in (lambda p: p == q, lambda p: p.endswith(q)):
        found = [c for c, p in paths if test(p)]
        if found:
            return found
    return [c for c in tree.clauses if fold(c.path[-1]).startswith(q)]
