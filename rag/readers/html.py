"""HTML pages and page fragments → the article's lines, its metadata table and its title.

Government sites wrap a document in navigation, search forms, share buttons, “政策解读” links and
footers, and some repeat the whole body in a hidden block. The reader keeps only the article:

1. decode: BOM, else UTF-8 when the bytes are valid UTF-8, else the declared ``<meta>``
   charset, else detection (charset-normalizer);
2. drop what a reader never sees: scripts, styles, comments, hidden (``display:none``)
   elements — among them the hidden second copy of the body some CMSs add;
3. read the labelled metadata (索 引 号 / 发文机关 / 文　　号 / 实施日期 …) anywhere on the page
   into canonical keys, and remove it so it never reaches the body text;
4. find the body: a known content container (``UCAP-CONTENT``, ``zoomcon``…) if it holds
   some of the page's text, else the element whose paragraphs hold the most Chinese text
   outside navigation, headers, footers, forms and sidebars;
5. walk the body in order: block elements and ``<br>`` end a line, inline elements do not;
   data tables (merged cells expanded) become lines via ``rag.readers.tables.table_lines``.

The title is the metadata's 标题, else the title block (``<h1>``, an element classed
``title``, ``<h2>``–``<h4>``) nearest before the body, else the page's ``<title>`` where the
body spells it out; it becomes line 1 (added when the body does not have it).
"""

from __future__ import annotations

import codecs
import re

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree

from rag.errors import UnreadableFile
from rag.readers.base import Extracted, Line, Progress
from rag.readers.tables import table_lines

CJK = re.compile(r"[\u3400-\u9fff]")
LABELS = {  # label as printed (spaces removed) → canonical metadata key
    "索引号": "索引号",
    "主题分类": "主题分类",
    "发文机关": "发文机关",
    "发布机关": "发文机关",
    "成文日期": "成文日期",
    "标题": "标题",
    "发文字号": "发文字号",
    "文号": "发文字号",
    "发布日期": "发布日期",
    "主题词": "主题词",
    "统一编号": "统一编号",
    "实施日期": "实施日期",
    "失效日期": "失效日期",
    "发布机构": "发布机构",
    "组配分类": "组配分类",
    "体裁分类": "体裁分类",
    "名称": "标题",
}
LABEL = re.compile(rf"^({'|'.join(LABELS)})[:：]$")  # the colon tells a label from a heading
ANY_LABEL = re.compile(r"^[\u3400-\u9fff]{2,6}[:：]$")  # 分类：, 文件状态：… end a value
SQUASH = re.compile(r"[\s\u3000\xa0]+")
KNOWN_BODY = re.compile(  # content containers of common government CMSs (id or class)
    r"^(UCAP-CONTENT|zoomcon|zoom|info_cont|article-content|detailCon|TRS_Editor|pages_content"
    r"|content_article|article_content|TRS_UEDITOR|Custom_UnionStyle|ContentBody|mainText)$"
)
CHROME = re.compile(  # class/id words of navigation and page furniture
    r"(^|[-_\s])(nav|menu|foot|footer|header|breadcrumb|crumb|curb|share|sidebar|search|copyright"
    r"|links?|xgwz\w*|friend\w*|toolbar|qrcode|ewm)([-_\s\d]|$)",
    re.IGNORECASE,
)
CHROME_TAGS = {"nav", "header", "footer", "aside", "form", "select", "button", "textarea", "menu"}
DROP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "input",
    "head",
    "title",
    "link",
    "meta",
}
HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)  # visibility is often JS-toggled
BLOCK_TAGS = {
    "address",
    "article",
    "blockquote",
    "body",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "html",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "caption",
    "form",
    "header",
    "footer",
    "nav",
    "aside",
    "menu",
}
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
WRAP = re.compile(r"[ \t\r\n\f]+")
POSITION = re.compile(r"当前位置|所在位置|您的位置|首页\s*[>›»]")
TRAILING_NUMBER = re.compile(r"[（(][^（()）]*〔\d{4}〕[^（()）]*号[)）]$")  # （国发〔2019〕3号）
NUMBER_IN = re.compile(r"〔\d{4}〕|\[\d{4}\]")
REPRINT = re.compile(r"^[（(【\[]转载[)）】\]]\s*")
SITE_SUFFIX = re.compile(r"\s*[-_|－—]+\s*[^-_|－—]*(网|网站|门户|政府|平台)\s*$")
MAX_SPAN = 200  # a rowspan/colspan larger than this is a typo, not a table
MAX_CELLS = 200_000  # a table expanding to more cells than this is read as plain blocks


def read(raw: bytes, name: str, progress: Progress | None = None) -> Extracted:
    root = _parse(decode(raw, name), name)
    head_title = SITE_SUFFIX.sub("", _clean_line(root.findtext(".//title") or ""))
    _strip(root)
    meta = _take_meta(root)
    body = find_body(root)
    lines = _dedupe(body_lines(body))
    title = REPRINT.sub("", meta.pop("标题", "") or page_title(root, body))
    if title:
        lines, title = place_title(lines, title)
    elif head_title:  # the <title> often names only the site: trust it where the body agrees
        lines, title = place_title(lines, REPRINT.sub("", head_title), add=False)
    return Extracted("html", tuple(Line(line) for line in lines), meta=meta, title=title)


def decode(raw: bytes, name: str) -> str:
    """Bytes → text: BOM, then UTF-8 if valid, then the declared charset, then detection.

    >>> decode('<meta charset="gbk"><p>政策</p>'.encode("gbk"), "x.html")[-9:]
    '<p>政策</p>'
    >>> decode("\\ufeff<p>政策</p>".encode("utf-8"), "x.html")
    '<p>政策</p>'
    """
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file")
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    if b"\x00" in raw[:4096]:
        raise UnreadableFile(f"{name}: binary file (contains NUL bytes), not an HTML page")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = CHARSET.search(raw[:4096])
    if declared:
        encoding = _codec(declared.group(1).decode("ascii", "replace"))
        if encoding:
            return raw.decode(encoding, errors="replace")
    best = from_bytes(raw[:200_000]).best()
    encoding = _codec(best.encoding) if best else None
    return raw.decode(encoding or "gb18030", errors="replace")


def _codec(label: str) -> str | None:
    """A Python codec for a charset label; GB2312/GBK pages are read as their superset GB18030.

    >>> _codec("GB2312"), _codec("x-unknown")
    ('gb18030', None)
    """
    label = label.strip().lower()
    if label in {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030", "euc-cn"}:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _parse(text: str, name: str) -> etree._Element:
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml refuses str input with an encoding decl
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise UnreadableFile(f"{name}: not a readable HTML page ({e})") from e
    return root


def _strip(root: etree._Element) -> None:
    """Remove what a reader of the page never sees: code, comments, hidden elements."""
    doomed = []
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments, processing instructions
            doomed.append(el)
        elif el.tag in DROP_TAGS or el.get("hidden") is not None:
            doomed.append(el)
        elif el.tag not in {"html", "body"} and HIDDEN_STYLE.search(el.get("style") or ""):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


def _text(el: etree._Element) -> str:
    return SQUASH.sub("", el.text_content())


def _take_meta(root: etree._Element) -> dict[str, str]:
    """Labelled metadata anywhere on the page (``<td><b>索 引 号：</b></td><td>…</td>``,
    ``<li><span>文　　号：</span>…</li>``), removed from the tree once read."""
    meta: dict[str, str] = {}
    found, labels = [], set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in {"html", "body"}:
            continue
        m = LABEL.match(_text(el))
        if not m:
            continue
        node = el  # climb to the largest element that holds only the label (b → td)
        while (parent := node.getparent()) is not None and parent.tag not in {"html", "body"}:
            if LABEL.match(_text(parent)):
                node = parent
            else:
                break
        if id(node) in labels:  # <b> inside a <td> already taken as the label
            continue
        labels.add(id(node))
        found.append((node, LABELS[m.group(1)]))
    for node, key in found:
        value_nodes, value = [], WRAP.sub(" ", node.tail or "").strip()
        for sibling in node.itersiblings():
            if id(sibling) in labels or any(id(d) in labels for d in sibling.iterdescendants()):
                break
            if ANY_LABEL.match(_text(sibling)):
                break
            value_nodes.append(sibling)
            value += " " + sibling.text_content()
        value = WRAP.sub(" ", value.replace("\xa0", " ")).strip(" \u3000")
        if value and key not in meta:
            meta[key] = value
        node.tail = ""
        for el in [node, *value_nodes]:
            if el.getparent() is not None:
                el.drop_tree()
    return meta


def find_body(root: etree._Element) -> etree._Element:
    """The element holding the article: a known content container that holds some of the
    page's text (an empty one is a template left-over), else the element whose own paragraphs
    — and its children's, half for grandchildren's — hold the most Chinese text."""
    scores: dict[etree._Element, float] = {}
    for block, count in _block_counts(root):
        if _chrome(block):
            continue
        parent = block.getparent()
        scores[block] = scores.get(block, 0) + count
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + count
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + count / 2
    total = sum(len(CJK.findall(t)) for t in root.itertext())
    for el in root.iter(etree.Element):
        names = f"{el.get('id') or ''} {el.get('class') or ''}".split()
        if any(KNOWN_BODY.match(n) for n in names):
            if len(CJK.findall(el.text_content())) >= max(20, total * 0.05):
                return el
    candidates = [(s, el) for el, s in scores.items() if el.tag not in {"html"} and not _chrome(el)]
    if not candidates:
        return root
    return max(candidates, key=lambda pair: pair[0])[1]


def _block_counts(root: etree._Element):
    """(block element, Chinese characters directly in it) for every block with text; a data
    table counts as one block, so its rows and cells never compete with the article."""
    stack = [root]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if el.tag == "table" and el.find(".//table") is None:
            count = len(CJK.findall(el.text_content()))
            if count:
                yield el, count
            continue
        stack.extend(reversed(el))
        if el.tag not in BLOCK_TAGS:
            continue
        count = len(CJK.findall(el.text or ""))
        for child in el:
            if isinstance(child.tag, str) and child.tag not in BLOCK_TAGS:
                count += len(CJK.findall(child.text_content()))
            count += len(CJK.findall(child.tail or ""))
        if count:
            yield el, count


def _chrome(el: etree._Element) -> bool:
    """Whether the element is (inside) navigation, a header, footer, form or sidebar."""
    for node in (el, *el.iterancestors()):
        if node.tag in CHROME_TAGS:
            return True
        words = f"{node.get('class') or ''} {node.get('id') or ''}"
        if CHROME.search(words):
            return True
    return False


def body_lines(body: etree._Element) -> list[str]:
    """The body's text, one line per block, in document order."""
    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = _clean_line("".join(current))
        current.clear()
        if line:
            out.append(line)

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        grid = _table_rows(el) if tag == "table" and _is_data_table(el) else None
        if grid is not None:
            flush()
            out.extend(line for line in _table_text(*grid) if line)
            return
        if tag == "br":
            flush()
            return
        block = tag in BLOCK_TAGS
        if block:
            flush()
        if el.text:
            current.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if block:
            flush()

    walk(body)
    flush()
    return out


def _clean_line(text: str) -> str:
    """Collapse the page source's whitespace: a wrapped line between Chinese characters joins
    without a space, other runs become one space.

    >>> _clean_line("  国务院关于\\n  促进发展  the\\n plan ")
    '国务院关于促进发展 the plan'
    """
    text = text.replace("\xa0", " ")

    def join(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if "\n" in m.group() and CJK.match(before or "a") and CJK.match(after or "a"):
            return ""
        return " "

    return WRAP.sub(join, text).strip(" \u3000")


def _is_data_table(table: etree._Element) -> bool:
    """A table of values, not a page layout: no nested tables, at least two rows of two cells."""
    if table.find(".//table") is not None:
        return False
    rows = [r for r in _rows(table) if len(_cells(r)) >= 2]
    return len(rows) >= 2


def _rows(table: etree._Element) -> list[etree._Element]:
    return [r for r in table.iter("tr") if _owner_table(r) is table]


def _owner_table(el: etree._Element) -> etree._Element | None:
    return next(el.iterancestors("table"), None)


def _cells(row: etree._Element) -> list[etree._Element]:
    return [c for c in row if isinstance(c.tag, str) and c.tag in {"td", "th"}]


def _span(cell: etree._Element, attr: str) -> int:
    value = (cell.get(attr) or "1").strip()
    digits = re.match(r"\d+", value)
    return max(1, min(int(digits.group()) if digits else 1, MAX_SPAN))


def _table_rows(table: etree._Element) -> tuple[list[list[str]], list[int]] | None:
    """The table as a grid of cell texts, merged cells repeated into every slot they cover,
    and for each row how many rows a header starting there would take (a grouped header:
    “统筹基金最高支付限额” over “职工医保 | 城乡居民医保”, beside cells spanning both rows).
    None when the merged cells would blow the grid up past ``MAX_CELLS``."""
    grid: dict[tuple[int, int], str] = {}
    rows = _rows(table)
    depths = []
    for r, row in enumerate(rows):
        c, down, across = 0, 1, False
        for cell in _cells(row):
            while (r, c) in grid:
                c += 1
            text = "\n".join(body_lines(cell))  # table_lines joins a cell's lines again
            rowspan = min(_span(cell, "rowspan"), len(rows) - r)
            colspan = _span(cell, "colspan")
            if len(grid) + rowspan * colspan > MAX_CELLS:
                return None
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid.setdefault((r + dr, c + dc), text)
            c += colspan
            down, across = max(down, rowspan), across or colspan > 1
        depths.append(min(down, 3) if across else 1)
    width = max((c for _, c in grid), default=-1) + 1
    if width * len(rows) > MAX_CELLS:
        return None
    return [[grid.get((r, c), "") for c in range(width)] for r in range(len(rows))], depths


def _table_text(rows: list[list[str]], depths: list[int]) -> list[str]:
    """Lines for a table. Leading rows that say one thing (the caption spanning all columns,
    “附件2 任务分工表”) are lines of their own; a grouped header's rows become one header,
    the group named first and the column after it in brackets.

    >>> _table_text([["附件2\\n分工表"] * 2, ["任务", "牵头单位"], ["签约", "卫健委"]], [1, 1, 1])
    ['附件2', '分工表', '任务：签约（牵头单位：卫健委）']
    >>> head = [["病种", "限额", "限额"], ["病种", "职工", "居民"], ["糖尿病", "200元", "50元"]]
    >>> _table_text(head, [2, 1, 1])
    ['病种：糖尿病；限额（职工）：200元；限额（居民）：50元']
    """
    out = []
    while len(rows) > 2 and len({c for c in rows[0] if c}) <= 1:
        out.extend(line for line in rows[0][0].split("\n") if line)  # “附件2”, “任务分工表”
        rows, depths = rows[1:], depths[1:]
    depth = min(depths[0], len(rows) - 1) if rows else 1
    if depth > 1:
        names = [list(dict.fromkeys(v for v in column if v)) for column in zip(*rows[:depth])]
        header = [n[0] + "".join(f"（{sub}）" for sub in n[1:]) if n else "" for n in names]
        rows = [header, *rows[depth:]]
    return out + table_lines(rows)


def _dedupe(lines: list[str]) -> list[str]:
    """Drop a long line that only repeats text already read (a page's hidden copy of its
    body, flattened into one block)."""
    seen, out = "", []
    for line in lines:
        key = SQUASH.sub("", line)
        if len(key) >= 200 and key in seen:
            continue
        out.append(line)
        seen += key
    return out


def page_title(root: etree._Element, body: etree._Element) -> str:
    """The title block nearest before the body (or first inside it): an ``<h1>``, else an
    element classed ``title``, else ``<h2>``–``<h4>``; else the page's ``<title>`` without the
    site name."""
    order = {el: n for n, el in enumerate(root.iter())}
    start = order.get(body, 0)
    end = start + sum(1 for _ in body.iter())
    passes = (
        lambda el: el.tag == "h1",
        lambda el: "title" in (el.get("class") or "").lower(),
        lambda el: el.tag in {"h2", "h3", "h4"},
    )
    for wanted in passes:
        before, inside = "", ""
        for el, n in order.items():
            if n >= end:
                break
            if not isinstance(el.tag, str) or not wanted(el):
                continue
            text = _clean_line(el.text_content())
            if not _title_like(text) or _chrome(el):
                continue
            if n < start:
                before = text
            elif not inside:
                inside = text
        if before or inside:
            return before or inside
    return ""


def _title_like(text: str) -> bool:
    """Short, Chinese, and not a breadcrumb (“您当前所在的位置：首页 > …”)."""
    return 4 <= len(text) <= 120 and bool(CJK.search(text)) and not POSITION.search(text)


def place_title(lines: list[str], title: str, add: bool = True) -> tuple[list[str], str]:
    """Put the title on line 1: where the body spells it over one or more of its first lines
    (“国务院关于…” + “…的若干意见”), those lines become the title line; else the title is
    added (unless ``add`` is false: then the title is ""). A title block that differs only by
    a trailing （文号） or a missing issuer yields to the body's fuller wording.

    >>> lines = ["国发〔2019〕3号", "国务院关于促进", "发展的意见", "各省："]
    >>> place_title(lines, "国务院关于促进发展的意见")[0]
    ['国务院关于促进发展的意见', '国发〔2019〕3号', '各省：']
    >>> lines = ["能源局关于", "加强电网规划的通知", "正文。"]
    >>> place_title(lines, "关于加强电网规划的通知（发〔2020〕8号）")
    (['能源局关于加强电网规划的通知', '正文。'], '能源局关于加强电网规划的通知')
    """
    want = SQUASH.sub("", title)
    short = SQUASH.sub("", TRAILING_NUMBER.sub("", title))
    spans = [
        (i, j) for i in range(min(6, len(lines))) for j in range(i + 1, min(i + 5, len(lines)) + 1)
    ]
    for i, j in spans:
        if SQUASH.sub("", "".join(lines[i:j])) == want:
            return [title, *lines[:i], *lines[j:]], title
    for i, j in spans:
        joined = SQUASH.sub("", "".join(lines[i:j]))
        extra = joined[: len(joined) - len(short)]
        if (
            len(short) >= 8
            and joined.endswith(short)
            and len(extra) <= 30
            and not NUMBER_IN.search(extra)
        ):
            fuller = "".join(lines[i:j])
            return [fuller, *lines[:i], *lines[j:]], fuller
    return ([title, *lines], title) if add else (lines, "")
