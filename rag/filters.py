"""Metadata filters: which documents a question may be answered from, and which it prefers.

Maintainers and staff narrow a question to 发文机关, a date range, a document kind (通知, 办法,
意见, …) or named documents. The facts come from each document's metadata and title:

>>> kind_of("国务院关于印发国家职业教育改革实施方案的通知"), kind_of("专利代理条例（2018年修订）")
('通知', '条例')
>>> iso_date("2023年6月30日"), iso_date("2023/03/22 17:13"), iso_date("无")
('2023-06-30', '2023-03-22', '')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.types import Document
from rag.zh import fold

KINDS = (  # longest first, so 实施方案 wins over 方案 and 指导意见 over 意见
    "指导意见",
    "实施意见",
    "实施方案",
    "工作方案",
    "行动计划",
    "实施细则",
    "实施办法",
    "管理办法",
    "工作要点",
    "通知",
    "办法",
    "意见",
    "方案",
    "计划",
    "规定",
    "决定",
    "细则",
    "条例",
    "规则",
    "批复",
    "复函",
    "答复",
    "通报",
    "预案",
    "清单",
    "指引",
    "指南",
    "公告",
    "通告",
    "措施",
    "规划",
    "要点",
    "纲要",
    "报告",
    "函",
    "法",
)
TRAILER = re.compile(r"[\s(（〔\[【][^()（）]*[)）〕\]】]\s*$|[》”\"\s]+$")
DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
YEAR = re.compile(r"(?:19|20)\d{2}(?=\s*年)")


def kind_of(title: str) -> str:
    """The kind a title ends with (trailing brackets and quotes ignored), or ""."""
    t = fold(title).strip()
    for _ in range(3):  # "…办法（试行）" / "…通知》" / "…规则（2018年修订）"
        t = TRAILER.sub("", t).strip()
    t = t.rstrip("(（ ")
    return next((k for k in KINDS if t.endswith(k)), "")


def iso_date(text: str) -> str:
    """The first full date in a text as YYYY-MM-DD, or ""."""
    m = DATE.search(fold(text or ""))
    return f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else ""


@dataclass(frozen=True)
class Filters:
    """What the asker narrowed the search to; empty fields do not filter."""

    issuer: str = ""  # a part of 发文机关 / 发布机构, e.g. 广州市民政局 or 国务院
    date_from: str = ""  # YYYY-MM-DD, inclusive, on 成文日期 (else 发布日期)
    date_to: str = ""
    kinds: tuple[str, ...] = ()  # 通知, 办法, …
    doc_ids: tuple[str, ...] = ()  # full ids

    @property
    def active(self) -> bool:
        return bool(self.issuer or self.date_from or self.date_to or self.kinds or self.doc_ids)

    def matches(self, doc: Document) -> bool:
        if self.doc_ids and doc.doc_id not in self.doc_ids:
            return False
        if self.issuer and fold(self.issuer).strip() not in fold(doc.issuer):
            return False
        if self.kinds and kind_of(doc.title) not in self.kinds:
            return False
        if self.date_from or self.date_to:
            date = iso_date(doc.date)
            if not date or not (self.date_from or "0") <= date <= (self.date_to or "9"):
                return False
        return True

    def describe(self) -> str:
        """The filters in words, for a message saying nothing matched them."""
        parts = [f"发文机关含“{self.issuer}”"] if self.issuer else []
        if self.date_from or self.date_to:
            parts.append(f"日期 {self.date_from or '…'} 至 {self.date_to or '…'}")
        if self.kinds:
            parts.append("文种 " + "、".join(self.kinds))
        if self.doc_ids:
            parts.append(f"{len(self.doc_ids)} 份指定文件")
        return "；".join(parts)


def preferred(question: str, docs: Iterable[Document]) -> set[str]:
    """Documents a question points at by naming their issuer or their year; they are preferred,
    not required (an empty set when the question names neither, or every document matches).

    >>> d = [Document("a", "t", "x", {"发文机关": "广州市民政局", "成文日期": "2021-03-01"}),
    ...      Document("b", "t", "x", {"发文机关": "国务院办公厅", "成文日期": "2018-12-30"})]
    >>> sorted(preferred("广州市民政局规定的标准是多少？", d)), sorted(preferred("2018年的通知", d))
    (['a'], ['b'])
    """
    docs = list(docs)
    q = fold(question)
    years = set(YEAR.findall(q))
    chosen = {
        d.doc_id
        for d in docs
        if (d.issuer and len(d.issuer) >= 3 and fold(d.issuer) in q)
        or (years and iso_date(d.date)[:4] in years)
    }
    return chosen if len(chosen) < len(docs) else set()
