"""The small frozen dataclasses every pipeline stage passes along.

Offsets (``start``/``end``) always index ``Document.text``, the display text the user reads; the
folded text used for matching has the same length (see ``rag.zh.fold``), so one span serves both.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any

PATH_SEP = " › "


@dataclass(frozen=True)
class Document:
    """One normalised source file: faithful display text (one paragraph per line) + metadata."""

    doc_id: str
    title: str
    text: str
    meta: dict[str, str] = field(default_factory=dict)  # 发布机构, 成文日期, 索引号, 来源…
    source: str = ""  # file name inside the corpus folder
    sha256: str = ""  # of the raw file bytes
    pages: tuple[tuple[int, int], ...] = ()  # (text offset, page) where a new page starts

    def page_at(self, offset: int) -> int | None:
        """The 1-based page an offset of a paged source (PDF) is on; None for other formats.

        >>> Document("d", "t", "ab\\ncd", pages=((0, 1), (3, 2))).page_at(4)
        2
        """
        at = bisect.bisect_right([o for o, _ in self.pages], offset) - 1
        return self.pages[at][1] if at >= 0 else None

    @property
    def issuer(self) -> str:
        """Who issued it: 发文机关, else the publishing site's 发布机构, else 来源."""
        return _first(self.meta, "发文机关", "发布机构", "来源")

    @property
    def date(self) -> str:
        """When it was signed (成文日期), else when it was published (发布日期)."""
        return _first(self.meta, "成文日期", "发布日期")

    @property
    def number(self) -> str:
        """Its document number (发文字号, e.g. 国发〔2019〕3号), or "" when it has none.

        >>> Document("d", "t", "x", meta={"文号": "穗府办规〔2021〕19号"}).number
        '穗府办规〔2021〕19号'
        """
        return _first(self.meta, "发文字号", "文号")


def _first(meta: dict[str, str], *keys: str) -> str:
    return next((meta[k] for k in keys if meta.get(k)), "")


@dataclass(frozen=True)
class Clause:
    """A numbered or titled part of a document; ``path`` runs from the top level down to it."""

    index: int
    parent: int | None
    kind: str  # heading pattern matched: 附件, 章, A., 一、, (一), 1., (1), 一是; 文件 (an embedded
    # document's name), 标题 (an unnumbered heading line)
    label: str  # as written: "16.", "(四)", "附件1"
    title: str  # short title as written, may be ""
    path: tuple[str, ...]
    start: int
    end: int

    @property
    def path_text(self) -> str:
        return PATH_SEP.join(self.path)


@dataclass(frozen=True)
class Responsibility:
    """Units named by one annotation, covering the text it closes (``start``..``end``)."""

    lead: tuple[str, ...]  # 牵头单位 / 责任单位
    participants: tuple[str, ...]  # 参与单位 / 配合单位
    start: int
    end: int
    note_start: int  # the annotation itself, e.g. 〔责任单位:区医保局〕
    note_end: int
    deadline: str = ""  # 完成时限 as written
    other: tuple[tuple[str, str], ...] = ()  # (role as written, unit): 指导部门, 委内牵头处室…

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Responsibility:
        other = tuple(tuple(pair) for pair in d.get("other", ()))
        lists = {key: tuple(d[key]) for key in ("lead", "participants")}
        return cls(**{**d, **lists, "other": other})


@dataclass(frozen=True)
class ClauseTree:
    """A document with its clauses (in document order) and responsibility annotations."""

    doc: Document
    clauses: tuple[Clause, ...]
    responsibilities: tuple[Responsibility, ...]

    def clause_at(self, offset: int) -> Clause | None:
        """The deepest clause containing ``offset``."""
        best = None
        for c in self.clauses:
            if c.start <= offset < c.end and (best is None or len(c.path) >= len(best.path)):
                best = c
        return best

    def responsibilities_in(self, start: int, end: int) -> tuple[Responsibility, ...]:
        """Annotations whose covered text overlaps ``start``..``end``."""
        return tuple(r for r in self.responsibilities if r.start < end and start < r.note_end)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClauseTree:
        return cls(
            doc=Document(**{**d["doc"], "pages": tuple(map(tuple, d["doc"].get("pages", ())))}),
            clauses=tuple(Clause(**{**c, "path": tuple(c["path"])}) for c in d["clauses"]),
            responsibilities=tuple(Responsibility.from_dict(r) for r in d["responsibilities"]),
        )


@dataclass(frozen=True)
class Chunk:
    """A token-bounded passage that can cite itself."""

    chunk_id: str  # "<doc_id>#<n>"
    doc_id: str
    title: str  # the document's title, or its attachment's title inside 附件N
    clause_path: str
    start: int
    end: int
    text: str  # display text of the span
    units: tuple[Responsibility, ...]
    token_count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        units = tuple(Responsibility.from_dict(u) for u in d["units"])
        return cls(**{**d, "units": units})


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with the scores that put it there (None: that retriever missed it)."""

    chunk: Chunk
    rank: int
    score: float
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """A passage backing an answer; ``start``/``end`` locate the supporting sentence."""

    doc_id: str
    title: str
    clause_path: str
    text: str  # the supporting sentence, as displayed
    start: int
    end: int
    score: float
    units: tuple[Responsibility, ...]
    passage: str  # the retrieved chunk the sentence comes from, for context
    page: int | None = None  # 1-based page of a paged source (PDF) where the sentence starts


@dataclass(frozen=True)
class Answer:
    """The one answer contract shared by the CLI, the HTTP API and evaluation."""

    question: str
    answer: str
    found: bool
    intent: str  # responsibility, quantity, time, general, or unclear (no searchable word)
    citations: tuple[Citation, ...]
    latency_ms: float
    hits: tuple[Hit, ...] = field(default=(), compare=False, repr=False)  # not serialised
    mode: str = "extractive"  # or "generative" when an LLM wrote the answer
    # the answer alone, by intent: {"lead", "participants"} / {"value"} / {"items"} / {"text"};
    # None when refused or unclear (see ``rag.answer.short_answer``)
    short_answer: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "found": self.found,
            "intent": self.intent,
            "citations": [
                {**asdict(c), "units": [_units_dict(u) for u in c.units]} for c in self.citations
            ],
            "latency_ms": round(self.latency_ms, 1),
            "mode": self.mode,
            "short_answer": self.short_answer,
        }


def short_text(short: dict[str, Any] | None) -> str:
    """A short answer as one line of text (what evaluation compares with the gold strings).

    >>> short_text({"lead": ["甲局"], "participants": ["乙局", "丙局"]})
    '甲局、乙局、丙局'
    >>> short_text({"value": "5万元"}), short_text({"items": ["足球", "篮球"]}), short_text(None)
    ('5万元', '足球、篮球', '')
    """
    if not short:
        return ""
    units = [
        *short.get("lead", ()),
        *short.get("participants", ()),
        *(o["unit"] for o in short.get("other", ())),
    ]
    parts = [*units, short.get("value", ""), *short.get("items", ()), short.get("text", "")]
    return "、".join(p for p in parts if p)


def _units_dict(r: Responsibility) -> dict[str, Any]:
    """A citation's units as the API gives them: lead and participants always, the deadline,
    other roles and the duty's kind only when the annotation has them.

    >>> _units_dict(Responsibility(("甲局",), (), 0, 4, 4, 9))
    {'lead': ['甲局'], 'participants': []}
    >>> _units_dict(Responsibility((), ("乙局",), 0, 4, 4, 9, "年底", (("指导部门", "丙部"),)))
    {'lead': [], 'participants': ['乙局'], 'deadline': '年底', \
'other': [{'role': '指导部门', 'unit': '丙部'}]}
    """
    units: dict[str, Any] = {"lead": list(r.lead), "participants": list(r.participants)}
    if r.deadline:
        units["deadline"] = r.deadline
    if r.other:
        units["other"] = [{"role": role, "unit": unit} for role, unit in r.other]
    if kind := getattr(r, "kind", ""):  # a duty's kind (unit, generic…) where one is recorded
        units["kind"] = kind
    return units
