"""Stage 1: a text file → ``Document`` (display text, title, metadata).

What happens to a file, in order:

1. a reader chosen by the file's content (``rag.readers``: text, HTML, PDF, Word) gives lines,
   metadata and pages; binary, undecodable or unsupported files raise ``UnreadableFile``;
2. per line: pinyin annotations after characters are removed (``強(qiáng)`` → ``強``), web
   boilerplate is dropped (breadcrumbs, 浏览次数, footers, “政策解读” links, everything from
   相关阅读 on), Markdown ``#`` markers and ``<!-- … -->`` comments are removed, and
   ``key: value`` metadata lines (索引号, 发布机构, 成文日期, 发布日期, 来源, …) move to ``meta``;
3. hard line breaks inside sentences are undone (not in HTML, whose blocks are paragraphs): a
   line that does not end a sentence continues the previous one, unless it is a heading;
4. the title (first paragraph, or two lines when a title is split) becomes line 1;
5. what the text itself says fills metadata the file did not declare: a 文号 line near the top
   (``国发〔2019〕3号``) is the 发文字号, the first date standing alone on a line (the signature)
   or opening an adoption line (“2020年12月24日 …会议通过”) is the 成文日期.

The display text keeps the original script (traditional stays traditional); matching happens on
``rag.zh.fold(text)``, which has the same length, so spans found while matching highlight the
display text directly.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.errors import UnreadableFile
from rag.headings import heading_at
from rag.readers import Extracted, Progress, read
from rag.types import Document
from rag.zh import fold

PINYIN = re.compile(r"(?<=[\u3400-\u9fff])\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)")
META_KEYS = (
    "索引号|组配分类|主题分类|公开方式|体裁分类|发布机构|发文机关|成文日期|发布日期|发文字号|文号"
    "|来源|作者|编辑|责编|编审|主编|浏览次数|点击数|阅读次数"
)
META_PAIR = re.compile(rf"({META_KEYS})\s*:\s*")
COUNTERS = {"浏览次数", "点击数", "阅读次数"}
BOILERPLATE = re.compile(
    r"^(首页|当前位置|您的位置|你的位置)\s*[:>›»]|可发送邮件至|版权所有|打印本页|关闭窗口"
    r"|^【?(打印|关闭|分享到)|^(上一篇|下一篇)\s*:|^(点击查看)?(相关)?政策解读\s*:"
    r"|^【?(一图读懂|图解|图文解读|音频解读|视频解读)】?\s*:"
)
MARKDOWN = re.compile(r"<!--.*?-->|^#{1,6}\s+")  # "# 标题", "<!-- INFO END -->## 第一章"
CN_DAY = "[\\d一二三四五六七八九十]{1,3}"
DATE = rf"(\d{{4}}|[〇○零一二三四五六七八九]{{4}})\s*年\s*{CN_DAY}\s*月\s*{CN_DAY}\s*日"
SIGNED = re.compile(rf"^({DATE})$|^({DATE})\s*\S.*(通过|公布|批准)$")
NUMBER_LINE = re.compile(  # 国发〔2019〕3号, （医保办函〔2025〕86 号）
    r"^[(（]?\s*(?P<n>[\u3400-\u9fff]{1,15}\s*〔\s*\d{4}\s*〕\s*\d+\s*号)\s*[)）]?$"
)
ORDER_NUMBER = re.compile(rf"^{DATE}\s*(?P<n>[\u3400-\u9fff]{{2,20}}令第\d+号)公布")  # 规章
GAZETTE_NUMBER = re.compile(  # 2020年第139號法律公告, 2020年第74號號外公告 (香港特区宪报)
    r"^(?P<n>\d{4}\s*年\s*第\s*\d+\s*[号號][\u3400-\u9fff]{0,4}公告)$"
)
TAIL_MARKER = re.compile(r"^(相关阅读|相关链接|相关文章|延伸阅读|相关新闻|推荐阅读|相关附件)\s*$")
STAMP = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(:\d{2})?$")
TITLE_SUFFIX = re.compile(
    r"(意见|通知|方案|计划|办法|规定|决定|细则|纲要|报告|批复|公告|通告|措施|规划|要点|条例|规则|指引|指南)"
    r"(\([^)]*\))?$"
)
SENTENCE_PUNCT = re.compile(r"[。，、；：！？,;:!?]")
LINE_END = tuple("。！？；;:：!?…”’」』)）〕】")


def read_document(
    path: Path,
    doc_id: str | None = None,
    progress: Progress | None = None,
    raw: bytes | None = None,
) -> Document:
    """Read and normalise one file of any supported format. Raises ``UnreadableFile`` with the
    reason (binary, empty, undecodable, a format to convert first)."""
    raw = path.read_bytes() if raw is None else raw
    return document_from(
        read(raw, path.name, progress),
        doc_id or path.stem,
        path.name,
        hashlib.sha256(raw).hexdigest(),
    )


def document_from(extracted: Extracted, doc_id: str, source: str, sha256: str = "") -> Document:
    """Normalise a reader's lines into a ``Document``, keeping which page each line was on."""
    lines, meta = _clean([(line.text, line.page) for line in extracted.lines])
    # HTML blocks are paragraphs already; only text and PDF lines carry hard line breaks
    paragraphs, pages = _join_with_pages(lines, join=extracted.format != "html")
    if not paragraphs:
        raise UnreadableFile(f"{source}: no text left after removing boilerplate")
    merged = merge_split_title(paragraphs)
    if len(merged) < len(paragraphs):  # the title's two lines became one: one "\n" less
        pages = [(max(0, o - 1), p) for o, p in pages]
    title = extracted.title or merged[0]
    meta = {**text_meta(merged), **extracted.meta, **meta}
    if extracted.notes:
        meta["说明"] = "；".join(extracted.notes)
    return Document(
        doc_id=doc_id,
        title=title,
        text="\n".join(merged),
        meta=meta,
        source=source,
        sha256=sha256,
        pages=tuple(_page_changes(pages)),
    )


def text_meta(paragraphs: list[str]) -> dict[str, str]:
    """发文字号 and 成文日期 as the text states them (used where the file declares none).

    >>> text_meta(["关于…的通知", "（医保办函〔2025〕86 号）", "正文。", "某局", "2025年10月24日"])
    {'发文字号': '医保办函〔2025〕86号', '成文日期': '2025年10月24日'}
    >>> text_meta(["某办法", "2019年11月30日 国家市场监督管理总局令第20号公布"])["发文字号"]
    '国家市场监督管理总局令第20号'
    >>> text_meta(["某细则", "2020年第139號法律公告"])["发文字号"]
    '2020年第139號法律公告'
    """
    meta = {}
    for line in paragraphs[:10]:
        line = line.strip()
        m = NUMBER_LINE.match(line) or ORDER_NUMBER.search(line) or GAZETTE_NUMBER.match(line)
        if m:
            meta["发文字号"] = re.sub(r"\s+", "", m.group("n"))
            break
    for line in paragraphs:
        m = SIGNED.match(line.strip())
        if m:
            meta["成文日期"] = re.sub(r"\s+", "", m.group(1) or m.group(3))
            break
    return meta


def _join_with_pages(
    lines: list[tuple[str, int]], join: bool = True
) -> tuple[list[str], list[tuple[int, int]]]:
    """``join_paragraphs`` over (line, page) pairs; also returns (text offset, page) of every
    line start, so a paragraph continued on the next page maps both of its parts."""
    paragraphs: list[str] = []
    starts: list[tuple[int, int]] = []  # offset in the joined text (paragraphs + "\n"), page
    offset, last_page = 0, 0
    for text, page in lines:
        # a line with no punctuation at the top of a new page is a heading (序言), not a tail
        turned = page != last_page and not SENTENCE_PUNCT.search(fold(text))
        last_page = page
        if join and paragraphs and _continues(paragraphs[-1], text) and not turned:
            starts.append((offset - 1, page))  # offset - 1: just past the previous part
            paragraphs[-1] += text
            offset += len(text)
        else:
            starts.append((offset, page))
            paragraphs.append(text)
            offset += len(text) + 1
    return paragraphs, starts


def _page_changes(starts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep only the (offset, page) entries where the page changes.

    >>> _page_changes([(0, 1), (5, 1), (9, 2), (14, 2)])
    [(0, 1), (9, 2)]
    """
    out: list[tuple[int, int]] = []
    for offset, page in starts:
        if page and (not out or out[-1][1] != page):
            out.append((offset, page))
    return out


def clean_lines(text: str) -> tuple[list[str], dict[str, str]]:
    """Strip pinyin and boilerplate; move metadata lines into a dict.

    >>> clean_lines("首页 > 资讯\\n建強(qiáng)社區(qū)\\n发布机构: 区发改局\\n相关阅读\\n别的")
    (['建強社區'], {'发布机构': '区发改局'})
    """
    kept, meta = _clean([(line, 0) for line in text.split("\n")])
    return [line for line, _ in kept], meta


def _clean(lines: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """``clean_lines`` over (line, page) pairs: every kept line keeps its page."""
    kept: list[tuple[str, int]] = []
    meta: dict[str, str] = {}
    for line, page in lines:
        line = MARKDOWN.sub("", PINYIN.sub("", line)).strip().strip("\u3000\xa0")
        folded = fold(line)
        if TAIL_MARKER.match(folded):
            break
        if not line or BOILERPLATE.search(folded):
            continue
        if STAMP.match(folded):
            meta.setdefault("发布日期", line)
        elif META_PAIR.match(folded):
            meta.update(_meta_pairs(line, folded))
        else:
            kept.append((line, page))
    return kept, meta


def _meta_pairs(line: str, folded: str) -> dict[str, str]:
    found = list(META_PAIR.finditer(folded))
    pairs = {}
    for m, nxt in zip(found, found[1:] + [None], strict=True):
        value = line[m.end() : nxt.start() if nxt else len(line)].strip()
        if value and m.group(1) not in COUNTERS:
            pairs[m.group(1)] = value
    return pairs


def join_paragraphs(lines: list[str]) -> list[str]:
    """Undo hard line breaks: a body line that stops mid-sentence continues on the next line.

    >>> join_paragraphs(["一、目标", "深化结对，积极开展学", "习观摩。", "二、任务"])
    ['一、目标', '深化结对，积极开展学习观摩。', '二、任务']
    """
    return _join_with_pages([(line, 0) for line in lines])[0]


def _continues(previous: str, line: str) -> bool:
    if previous.endswith(LINE_END) or heading_at(line) is not None:
        return False
    # Headings and titles carry no sentence punctuation after their number; body text does.
    # A heading's title may list things with 、 (（一）党建、治理双提升): that is not a sentence.
    heading = heading_at(previous)
    rest = previous[len(heading.label) :].replace("、", "") if heading else previous
    return bool(SENTENCE_PUNCT.search(fold(rest)))


def merge_split_title(paragraphs: list[str]) -> list[str]:
    """Join a title broken over two lines ("关于…澥浦镇" + "和谐联动的实施意见")."""
    if len(paragraphs) > 1:
        first, second = paragraphs[0], paragraphs[1]
        if (
            not TITLE_SUFFIX.search(fold(first))
            and TITLE_SUFFIX.search(fold(second))
            and len(first) + len(second) <= 80
            and not SENTENCE_PUNCT.search(fold(first + second))
            and heading_at(second) is None
        ):
            return [first + second, *paragraphs[2:]]
    return paragraphs
