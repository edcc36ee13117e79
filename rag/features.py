"""What the answer stage knows about one candidate sentence, as pure functions of plain values.

Each feature is a number in 0..1 (or a flag) the scorer in ``rag.answer`` weighs with
``rag.weights.Weights``; ``rag.calibrate`` computes them once per question to sweep the weights.
The answer stage reads the index only through ``Source``: term weights, documents by id and
stored sentence vectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from rag.duties import ENUMERATOR, UNITS, split_units
from rag.question import Need, content_terms
from rag.types import Clause, ClauseTree, Hit, Responsibility


class Source(Protocol):
    """What the answer stage needs from an index (``rag.index.Index`` is one)."""

    trees: Mapping[str, ClauseTree]  # documents with their clauses, by id

    @property
    def idf(self) -> Mapping[str, float]: ...

    def unseen_idf(self) -> float: ...

    def terms(self, text: str) -> list[str]: ...

    def sentence_vector(self, doc_id: str, start: int, end: int) -> np.ndarray | None: ...


def term_weights(question: str, source: Source) -> dict[str, float]:
    """IDF weight of each content term of the question; unseen terms weigh the most."""
    unseen = source.unseen_idf()
    return {t: source.idf.get(t, unseen) for t in content_terms(source.terms(question))}


def coverage(text: str, weights: Mapping[str, float]) -> float:
    """Weighted share of the terms found in ``text`` (folded).

    >>> coverage("医保跨省结算", {"医保": 3.0, "结算": 1.0, "考核": 4.0})
    0.5
    >>> coverage("任何文字", {})
    0.0
    """
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text) / total if total else 0.0


def own_weights(weights: Mapping[str, float], title: str) -> dict[str, float]:
    """The terms the (folded) title does not match: they say which sentence, not which document.
    All of them when the title matches every term.

    >>> own_weights({"江北": 2.0, "医保": 3.0}, "江北区对口合作计划")
    {'医保': 3.0}
    >>> own_weights({"江北": 2.0}, "江北区对口合作计划")
    {'江北': 2.0}
    """
    return {t: w for t, w in weights.items() if t not in title} or dict(weights)


def framing(tree: ClauseTree, clause: Clause | None) -> bool:
    """Is a sentence (in ``clause``, the deepest one holding it) the framing of a document that
    states its facts in clauses — the preamble or closing lines (为进一步…，国务院决定…;
    希望受到表扬的地方珍惜荣誉…) outside every clause? Such a sentence shares the question's
    words with the clause that holds the fact without stating it. A document without clauses,
    or whose clauses hold less than half its text (a notice stating its facts in an opening
    paragraph and its work requirements under 一、二、), frames nothing.

    >>> from rag.types import Document
    >>> doc = Document("d", "t", "前言。一、甲乙丙。")
    >>> one = Clause(0, None, "一、", "一、", "甲", ("一、甲",), 3, 9)
    >>> tree = ClauseTree(doc, (one,), ())
    >>> framing(tree, None), framing(tree, one), framing(ClauseTree(doc, (), ()), None)
    (True, False, False)
    >>> tail = Clause(0, None, "一、", "一、", "甲", ("一、甲",), 7, 9)
    >>> framing(ClauseTree(doc, (tail,), ()), None)
    False
    """
    if clause is not None or not tree.clauses:
        return False
    covered = sum(c.end - c.start for c in tree.clauses if c.parent is None)
    return covered * 2 >= len(tree.doc.text)  # clauses that hold only a tail frame nothing


def closeness(similarities: Sequence[float | None]) -> list[float]:
    """Embedding similarities scaled to 0..1 within one question (their raw range carries no
    meaning across questions); a missing one, or all equal, counts 0.

    >>> closeness([0.8, 0.9, None, 0.85])
    [0.0, 1.0, 0.0, 0.5]
    >>> closeness([0.7, 0.7])
    [0.0, 0.0]
    """
    known = [s for s in similarities if s is not None]
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    if high <= low:
        return [0.0] * len(similarities)
    return [0.0 if s is None else round((s - low) / (high - low), 12) for s in similarities]


def rank_share(hit: Hit, hits: Sequence[Hit]) -> float:
    """The hit's fused retrieval score as a share of the best hit's (1.0 for the best)."""
    top = max((h.score for h in hits), default=0.0) or 1.0
    return hit.score / top


def both_first(hit: Hit) -> bool:
    """Both retrievers, BM25 and dense, rank this chunk first: the strongest retrieval signal."""
    return hit.bm25_rank == 1 and hit.dense_rank == 1


def fits(
    need: Need, context: str, sentence: str, duty: Responsibility | None, prose_unit: str | None
) -> bool:
    """Has the (folded) sentence what the question needs? Units come from the annotation
    covering it or a duty stated in prose; a "by when" question also takes the annotation's
    完成时限. ``context`` is title + clause path + sentence."""
    deadline = duty.deadline if duty else ""
    return need.met(context, sentence, bool(duty or prose_unit), deadline)


# a field label naming who acts (办事指南: 实施机关, 受理机构, 承办单位, 责任部门, 办理部门)
WHO_FIELD = re.compile(
    r"(?:实施|受理|承办|办理|审批|责任|主管|执法|监管)(?:机关|机构|单位|部门|主体)$"
)
HEADING_NUMBER = re.compile(rf"^\s*{ENUMERATOR}")


def labelled_unit(heading: str, sentence: str) -> str | None:
    """The unit a sentence names as the value of a "who" field — the sentence opening its
    clause's heading 实施机关 / 受理机构 and standing for nothing but a unit, as service guides
    (办事指南) list their facts under field labels without a verb (no “由…负责” to read).

    >>> labelled_unit("三、实施机关", "江川市各区（县）市场监督管理局。")
    '江川市各区（县）市场监督管理局'
    >>> labelled_unit("二、受理机构", "市民政局、市财政局。")
    '市民政局'
    >>> labelled_unit("三、收费标准", "市民政局。") is None  # not a who field
    True
    >>> labelled_unit("三、实施机关", "行政许可。") is None  # no unit
    True
    >>> labelled_unit("三、实施机关", "市民政局会同有关部门制定细则。") is None  # not a value
    True
    """
    label = HEADING_NUMBER.sub("", heading).strip(" ：:")
    if not WHO_FIELD.search(label):
        return None
    value = sentence.strip().rstrip("。；;，, ")
    m = re.fullmatch(UNITS, value)
    return split_units(m.group(0))[0] if m else None


def asked_field(question: str, heading: str) -> bool:
    """Is ``heading`` a "who" field (实施机关, 受理机构) whose act the (folded) question names —
    由哪个机关实施 for 实施机关, 哪个机构受理 for 受理机构? Its value is then the answer, rather
    than a unit a sentence elsewhere charges with something else.

    >>> asked_field("登记由哪个机关实施", "三、实施机关"), asked_field("由谁受理", "二、实施机关")
    (True, False)
    >>> asked_field("登记由哪个机关实施", "三、收费标准")
    False
    """
    label = HEADING_NUMBER.sub("", heading).strip(" ：:")
    m = WHO_FIELD.search(label)
    return bool(m) and label[: m.start() + 2][-2:] in question


# a line that asks rather than states: the 问：line of a 政策解读 in 问答 form, a rhetorical 吗？
ASKS = re.compile(r"^\s*(?:问[：:]|[Qq][：:.])|[？?]\s*$")


def asks(sentence: str) -> bool:
    """Is the sentence itself a question? It repeats the asker's words (so it covers them
    well and its embedding is close) but never holds the answer, which follows it.

    >>> asks("问：一次性创业补贴能拿多少？"), asks("可以申请创业担保贷款吗？")
    (True, True)
    >>> asks("答：可以。"), asks("给予一次性创业补贴1万元。")
    (False, False)
    """
    return bool(ASKS.search(sentence))


ASKS_FEE = re.compile(r"多少钱|收费|费用|交多少|缴纳多少|缴费|收多少|要钱|花钱|工本费")
# no fee at all — not a free service beside the matter (免费邮寄, 免费提供表格)
FREE = re.compile(r"不收费|不收取(?:任何)?费用|免收|无需缴费|无需缴纳|零收费|不需缴费|^免费。?$")


def free_of_charge(question: str, sentence: str) -> bool:
    """Does a (folded) sentence answer a fee question (办理要交多少钱) by saying there is no
    fee? A figure-less “不收费” is the answer a service guide gives under 收费标准.

    >>> free_of_charge("办理登记要交多少钱", "不收费。")
    True
    >>> free_of_charge("办理登记需要多少个工作日", "不收费。")
    False
    >>> free_of_charge("办理登记要交多少钱", "登记机关核发营业执照。")
    False
    >>> free_of_charge("办理登记要交多少钱", "营业执照免费邮寄。")  # a free service, not the fee
    False
    """
    return bool(ASKS_FEE.search(question) and FREE.search(sentence))
