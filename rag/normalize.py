"""Stage 1: a text file → ``Document`` (display text, title, metadata).

What happens to a file, in order:

1. bytes are decoded as UTF-8, else GB18030; binary or undecodable files raise ``UnreadableFile``;
2. per line: pinyin annotations after characters are removed (``強(qiáng)`` → ``強``), web
   boilerplate is dropped (breadcrumbs, 浏览次数, footers, everything from 相关阅读 on), and
   ``key: value`` metadata lines (索引号, 发布机构, 成文日期, 发布日期, 来源, …) move to ``meta``;
3. hard line breaks inside sentences are undone: a line that does not end a sentence continues
   the previous one, unless it is a heading;
4. the title (first paragraph, or two lines when a title is split) becomes line 1.

The display text keeps the original script (traditional stays traditional); matching happens on
``rag.zh.fold(text)``, which has the same length, so spans found while matching highlight the
display text directly.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.clauses import heading_at
from rag.errors import UnreadableFile
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
    r"|^【?(打印|关闭|分享到)|^(上一篇|下一篇)\s*:"
)
TAIL_MARKER = re.compile(r"^(相关阅读|相关链接|相关文章|延伸阅读|相关新闻|推荐阅读)\s*$")
STAMP = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(:\d{2})?$")
TITLE_SUFFIX = re.compile(
    r"(意见|通知|方案|计划|办法|规定|决定|细则|纲要|报告|批复|公告|通告|措施|规划|要点|条例|规则|指引|指南)"
    r"(\([^)]*\))?$"
)
SENTENCE_PUNCT = re.compile(r"[。，、；：！？,;:!?]")
LINE_END = tuple("。！？；;:：!?…”’」』)）〕】")


def read_document(path: Path, doc_id: str | None = None) -> Document:
    """Read and normalise one file. Raises ``UnreadableFile`` with the reason."""
    raw = path.read_bytes()
    text = decode(raw, path.name)
    lines, meta = clean_lines(text)
    paragraphs = join_paragraphs(lines)
    if not paragraphs:
        raise UnreadableFile(f"{path.name}: no text left after removing boilerplate")
    paragraphs = merge_split_title(paragraphs)
    return Document(
        doc_id=doc_id or path.stem,
        title=paragraphs[0],
        text="\n".join(paragraphs),
        meta=meta,
        source=path.name,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030; refuse binary and empty files.

    >>> decode("政策".encode("gb18030"), "x.txt")
    '政策'
    """
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file")
    if b"\x00" in raw[:4096]:
        raise UnreadableFile(f"{name}: binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(f"{name}: not UTF-8 or GB18030 text")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text) * 0.01:
        raise UnreadableFile(f"{name}: looks binary ({controls} control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_lines(text: str) -> tuple[list[str], dict[str, str]]:
    """Strip pinyin and boilerplate; move metadata lines into a dict.

    >>> clean_lines("首页 > 资讯\\n建強(qiáng)社區(qū)\\n发布机构: 区发改局\\n相关阅读\\n别的")
    (['建強社區'], {'发布机构': '区发改局'})
    """
    lines: list[str] = []
    meta: dict[str, str] = {}
    for line in text.split("\n"):
        line = PINYIN.sub("", line).strip().strip("\u3000\xa0")
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
            lines.append(line)
    return lines, meta


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
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and _continues(paragraphs[-1], line):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    return paragraphs


def _continues(previous: str, line: str) -> bool:
    if previous.endswith(LINE_END) or heading_at(line) is not None:
        return False
    # Headings and titles carry no sentence punctuation after their number; body text does.
    heading = heading_at(previous)
    rest = previous[len(heading.label) :] if heading else previous
    return bool(SENTENCE_PUNCT.search(fold(rest)))


def merge_split_title(paragraphs: list[str]) -> list[str]:
    """Join a title broken over two lines ("关于…澥浦镇" + "和谐联动的实施意见")."""
    if len(paragraphs) > 1:
        first, second = paragraphs[0], paragraphs[1]
        if (
            not TITLE_SUFFIX.search(first)
            and TITLE_SUFFIX.search(second)
            and len(first) + len(second) <= 80
            and not SENTENCE_PUNCT.search(fold(first + second))
            and heading_at(second) is None
        ):
            return [first + second, *paragraphs[2:]]
    return paragraphs
