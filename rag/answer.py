"""Stage 7: retrieved hits → an extractive ``Answer`` with citations, or an honest refusal.

1. Every sentence of the retrieved chunks is a candidate. Its score mixes how much of the
   question's weighted terms it covers (with its title and clause path as context, and alone),
   how close its stored embedding is to the question's, the rank of its chunk, and whether it
   has what the question needs (``rag.question.Need``: units, a figure, a date, the year;
   for a listing question naming the kind of its items — 哪几类中心, 哪些材料 — items of that
   kind, when the best passage's document has them: ``listing_fits``); a document's preamble or
   closing line (outside its clauses) is marked down.
2. Responsibility questions are answered with the units of the annotation covering the best
   sentence — lead and participating units kept apart — or, where a document states duties in
   prose ("由…负责"), with the unit it names. Other questions are answered with the sentence.
   ``Answer.short_answer`` holds the answer alone, by intent (``short_answer``): the units, the
   figure or date that met the question's need, the enumerated items, or the sentence.
3. The answer is refused ("not found") when the chosen sentence covers too little of the
   question's key terms, or lacks what the question needs — unless it covers nearly all of them
   (then the sentence is the answer); the closest passages come back as possibly related.

The features are pure functions (``rag.features``); every weight, the floor and the refusal
thresholds are one ``rag.weights.Weights``, calibrated by ``rag calibrate`` on the dev
calibration split, never on single questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import numpy as np

from rag.annotations import ANNOTATION_OPEN, duty_text
from rag.clauses import bare_heading
from rag.duties import Asked, asked, prose_unit
from rag.features import (
    Source,
    asked_field,
    asks,
    both_first,
    closeness,
    coverage,
    fits,
    framing,
    free_of_charge,
    labelled_unit,
    own_weights,
    rank_share,
    term_weights,
)
from rag.question import Need
from rag.short import (
    LEAD_IN,
    LISTING,
    clause_children,
    gives_asked_items,
    lead_in_above,
    short_answer,
)
from rag.types import Answer, Citation, ClauseTree, Hit, Responsibility
from rag.weights import DEFAULT, Weights
from rag.zh import fold, sentence_spans

NOT_FOUND = "未在已收录的政策文件中找到相关规定。"
RELATED = "以下条款可能相关，请核对原文。"
CLARIFY = (
    "请把问题说完整一些：写出要问的事项或政策名称，例如“谁负责医保跨省结算？”"
    "或“安全生产检查发现了多少处隐患？”。"
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk, scored against the question."""

    hit: Hit
    tree: ClauseTree
    start: int
    end: int
    coverage: float  # weighted share of the question's terms in title + clause path + sentence
    own_coverage: float  # … in the sentence alone, not counting terms the title matches
    similarity: float | None  # cosine of its stored embedding with the question's
    duty: Responsibility | None  # the annotation covering it
    prose_unit: str | None  # or the unit it names in prose
    fits: bool  # has what the question needs
    score: float = 0.0
    closeness: float = 0.0  # similarity scaled to 0..1 within the question
    rank_share: float = 0.0  # its chunk's retrieval score / the best chunk's
    agreed: bool = False  # both retrievers rank its chunk first
    framing: bool = False  # a preamble or closing line outside the document's clauses

    @property
    def text(self) -> str:
        return self.tree.doc.text[self.start : self.end]

    @property
    def clause_path(self) -> str:
        clause = self.tree.clause_at(self.start)
        return clause.path_text if clause else ""

    def quote(self) -> str:
        """The sentence without its closing responsibility annotation."""
        text = self.text
        m = ANNOTATION_OPEN.search(text)
        return text[: m.start()].strip() if m else text


def answer_from_hits(
    question: str,
    hits: list[Hit],
    source: Source,
    vector: np.ndarray,
    latency_ms: float = 0.0,
    weights: Weights = DEFAULT,
) -> Answer:
    """The extractive answer to ``question`` (embedded as ``vector``) from retrieved ``hits``;
    ``latency_ms`` is what the caller measured so far."""
    need = Need.of(question)
    ranked = rank_sentences(question, hits, source, vector, need, weights)
    best, found = choose(ranked, weights)
    if best is not None and found:
        short = short_of(question, best, need)
        core, quote = _core(best, need.intent, short), best.quote()
        basis = f"《{best.hit.chunk.title}》{best.clause_path}"
        if core != quote:
            text = f"{core.rstrip('。')}。依据：{basis}：“{quote}”"
        else:
            text = f"{quote}（依据：{basis}）"
        citations = _citations(best, ranked)
    else:
        short = None
        text = f"{NOT_FOUND}{RELATED if ranked else ''}"
        citations = _citations(None, ranked)
    return Answer(
        question, text, found, need.intent, citations, latency_ms, tuple(hits), short_answer=short
    )


def short_of(question: str, c: Candidate, need: Need) -> dict:
    """The short answer a candidate sentence gives (its clause's sub-items may hold the items)."""
    children = clause_children(c.tree, c.start)
    quote = c.quote()
    around = lead_in_above(c.tree, c.start)
    found = short_answer(question, quote, need, c.duty, c.prose_unit, children, around)
    if found.get("text") == quote and not children and LEAD_IN.search(fold(quote)):
        found = {"text": "".join([quote, *following(c.tree, c.start, c.end)])}
    return found


def following(tree: ClauseTree, start: int, end: int, limit: int = 2) -> list[str]:
    """Up to ``limit`` sentences after ``start``..``end`` in its own clause: what a lead-in
    sentence (“可在以下两种方式中任选其一。”) announces when the items are not sub-clauses."""
    clause = tree.clause_at(start)
    text = tree.doc.text
    until = clause.end if clause else len(text)
    return [text[s:e].strip() for s, e in sentence_spans(text, end, until)[:limit]]


def clarify(question: str, latency_ms: float) -> Answer:
    """The answer to a question with no searchable word (“谁？”, “请问一下”, an emoji): ask for a
    fuller question instead of searching — a refusal would wrongly say the documents are silent."""
    return Answer(question, CLARIFY, False, "unclear", (), latency_ms)


def nothing_matches(question: str, described: str, latency_ms: float) -> Answer:
    """The answer when the asker's filters leave no document to search."""
    text = f"没有符合筛选条件（{described}）的文件，请放宽或清除筛选条件后再问。"
    return Answer(question, text, False, "general", (), latency_ms)


def rank_sentences(
    question: str,
    hits: list[Hit],
    source: Source,
    vector: np.ndarray,
    need: Need | None = None,
    weights: Weights = DEFAULT,
) -> list[Candidate]:
    """Every sentence of the retrieved chunks, best first."""
    need = need or Need.of(question)
    terms = term_weights(question, source)
    return score(candidates(hits, source, terms, need, vector, question), weights)


def candidates(
    hits: list[Hit],
    source: Source,
    terms: dict[str, float],
    need: Need,
    vector: np.ndarray,
    question: str = "",
) -> list[Candidate]:
    """Every sentence of the hits (bare headings, repeats and a Q&A's question lines left out),
    with its features;
    ``question`` lets a listing question be fitted by the items it asks for (``listing_fits``)
    and tells what a responsibility question asks of who answers (``rag.duties.asked``: a prose
    duty of another act, or a person where it asks for a unit, does not fit)."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    posts = need.topics if need.intent == "responsibility" else ()  # 总指挥由谁担任
    # a person does not answer 哪个部门; the act asked (由谁审核) is not required of a prose duty:
    # as a hard filter it refused paraphrased questions (审批 asked, 批准 written)
    wanted = Asked(unit=asked(question).unit) if need.intent == "responsibility" else Asked()
    asked_for = fold(question)
    for hit in hits:
        tree = source.trees[hit.chunk.doc_id]
        text = tree.doc.text
        title = fold(hit.chunk.title)
        own = own_weights(terms, title)
        share, agreed = rank_share(hit, hits), both_first(hit)
        for s, e in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            clause = tree.clause_at(s)
            if (hit.chunk.doc_id, s) in seen or bare_heading(text, clause, s, e):
                continue
            if asks(text[s:e]):  # 问：…？ of a Q&A repeats the asker's words, never answers
                continue
            seen.add((hit.chunk.doc_id, s))
            sentence = fold(text[s:e])
            context = f"{title} {fold(clause.path_text) if clause else ''} {sentence}"
            duty = _duty(tree, s, e)
            prose = None if duty else prose_unit(text[s:e], posts, wanted)
            if prose is None and duty is None and need.intent == "responsibility" and clause:
                prose = labelled_unit(clause.path[-1], text[s:e])  # 实施机关：X局。
            stored = source.sentence_vector(hit.chunk.doc_id, s, e)
            similarity = float(stored @ vector) if stored is not None else hit.dense_score
            covered = coverage(context, terms), coverage(sentence, own)
            fit = fits(need, context, sentence, duty, prose)
            if need.intent == "quantity" and not fit and free_of_charge(asked_for, sentence):
                fit = True  # 要交多少钱？ — 不收费。
            found = Candidate(hit, tree, s, e, *covered, similarity, duty, prose, fit)
            frame = framing(tree, clause)
            out.append(replace(found, rank_share=share, agreed=agreed, framing=frame))
    close = closeness([c.similarity for c in out])
    out = [replace(c, closeness=k) for c, k in zip(out, close, strict=True)]
    out = listing_fits(question, need, out)
    return preferred_fits(need, field_fits(question, need, out))


def preferred_fits(need: Need, found: list[Candidate]) -> list[Candidate]:
    """A time question asking for one shape of date (a day for 哪天, a start for 从哪天执行, how
    often for 多久一次: ``Need.prefer``) is fitted only by the sentences written in that shape —
    when a fitting sentence of the best retrieved passage's document is; otherwise every
    sentence keeps its fit, so asking for a shape never refuses a question by itself."""
    if need.prefer is None:
        return found

    def shaped(c: Candidate) -> bool:
        due = c.duty.deadline if need.deadline and c.duty else ""
        return bool(need.prefer.search(fold(c.quote())) or (due and need.prefer.search(fold(due))))

    return narrowed(found, [c.fits and shaped(c) for c in found])


def field_fits(question: str, need: Need, found: list[Candidate]) -> list[Candidate]:
    """A responsibility question naming the act of a "who" field (由哪个机关实施, for a service
    guide's 实施机关) is fitted only by the sentences of that field — when the best retrieved
    passage's document has one holding a unit; a unit charged elsewhere with something else
    (所需费用由登记机关承担) does not answer it. Otherwise every sentence keeps its fit."""
    if need.intent != "responsibility":
        return found
    asked_for = fold(question)
    return narrowed(found, [c.fits and asked_field(asked_for, _heading(c)) for c in found])


def _heading(c: Candidate) -> str:
    clause = c.tree.clause_at(c.start)
    return clause.path[-1] if clause else ""


def listing_fits(question: str, need: Need, found: list[Candidate]) -> list[Candidate]:
    """A listing question naming the kind of its items (哪几类中心, 哪些场所) is fitted only by the
    sentences giving items of that kind (``rag.short.gives_asked_items``) — when a sentence of
    the best retrieved passage's document does (a list of that kind elsewhere is weaker evidence
    than the passage retrieval trusts most); otherwise every sentence keeps its fit."""
    if need.intent != "general" or not LISTING.search(fold(question)):
        return found
    gives = [
        gives_asked_items(
            question,
            c.quote(),
            clause_children(c.tree, c.start),
            lead_in_above(c.tree, c.start),
        )
        for c in found
    ]
    return narrowed(found, [c.fits and g for c, g in zip(found, gives, strict=True)])


def narrowed(found: list[Candidate], keep: list[bool]) -> list[Candidate]:
    """Only the ``keep`` candidates fit — when one of them is in the best retrieved passage's
    document (a sentence of the asked shape elsewhere is weaker evidence than the passage
    retrieval trusts most); otherwise nothing changes, so narrowing never refuses a question."""
    best = {c.tree.doc.doc_id for c in found if c.rank_share >= 1.0}
    if not any(k and c.tree.doc.doc_id in best for c, k in zip(found, keep, strict=True)):
        return found
    return [replace(c, fits=k) for c, k in zip(found, keep, strict=True)]


def score(candidates: list[Candidate], weights: Weights = DEFAULT) -> list[Candidate]:
    """The candidates scored by ``weights``, best first."""

    def scored(c: Candidate) -> Candidate:
        features = c.coverage, c.own_coverage, c.closeness, c.rank_share, c.fits, c.framing
        return replace(c, score=weights.score(*features))

    return sorted(map(scored, candidates), key=lambda c: -c.score)


def _duty(tree: ClauseTree, start: int, end: int) -> Responsibility | None:
    """The annotation whose covered text overlaps this sentence the most."""
    best, overlap = None, 0
    for r in tree.responsibilities:
        o = min(end, r.note_end) - max(start, r.start)
        if o > overlap:
            best, overlap = r, o
    return best


class Ranked(Protocol):
    """What the decision reads of a scored sentence (a ``Candidate``, or a calibration row)."""

    score: float
    coverage: float
    fits: bool
    agreed: bool


R = TypeVar("R", bound=Ranked)


def choose(ranked: Sequence[R], weights: Weights = DEFAULT) -> tuple[R | None, bool]:
    """The sentence to answer with (best first in ``ranked``), and whether to answer at all.

    The top sentence, or the best one that has what the question needs if it scores at least
    ``weights.fallback`` × as well. It answers when it covers ``weights.floor`` of the question's
    terms and either fits, or covers ``weights.unfit_coverage`` of them (in the chunk both
    retrievers rank first, if ``weights.unfit_agreed``); then the sentence itself is the answer.
    """
    if not ranked:
        return None, False
    top = ranked[0]
    fitting = next((c for c in ranked if c.fits), None)
    best = top
    if fitting is not None and not top.fits and fitting.score >= weights.fallback * top.score:
        best = fitting
    loose = best.coverage >= weights.unfit_coverage and (best.agreed or not weights.unfit_agreed)
    return best, best.coverage >= weights.floor and (best.fits or loose)


def _core(c: Candidate, intent: str, short: dict | None = None) -> str:
    """What the answer says before its basis: the units, the items the sentence does not
    state itself (those of its lead-in's sub-clauses, or of the lead-in above it), or the
    sentence."""
    items = (short or {}).get("items") or []
    if items and not all(i in c.quote() for i in items):
        return "；".join(items)
    if intent == "responsibility" and c.duty and (named := duty_text(c.duty)):
        return named
    if intent == "responsibility" and c.prose_unit:
        return c.prose_unit
    return c.quote()


def _citations(best: Candidate | None, candidates: list[Candidate]) -> tuple[Citation, ...]:
    """The supporting sentence first, then the best sentence of up to two other chunks."""
    chosen = [best] if best else []
    for c in candidates:
        if len(chosen) == 3:
            break
        if all(c.hit.chunk.chunk_id != o.hit.chunk.chunk_id for o in chosen):
            chosen.append(c)
    return tuple(citation(c) for c in chosen)


def citation(c: Candidate) -> Citation:
    return Citation(
        doc_id=c.tree.doc.doc_id,
        title=c.hit.chunk.title,
        clause_path=c.clause_path,
        text=c.text,
        start=c.start,
        end=c.end,
        score=round(c.score, 4),
        units=(c.duty,) if c.duty else (),
        passage=c.hit.chunk.text,
        page=c.tree.doc.page_at(c.start),
    )
