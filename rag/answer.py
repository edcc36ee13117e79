"""Stage 7: retrieved hits → an extractive ``Answer`` with citations, or an honest refusal.

1. Every sentence of the retrieved chunks is a candidate. Its score mixes how much of the
   question's weighted terms it covers (with its title and clause path as context, and alone),
   how close its stored embedding is to the question's, the rank of its chunk, and whether it
   has what the question needs (``rag.question.Need``: units, a figure, a date, the year).
2. Responsibility questions are answered with the units of the annotation covering the best
   sentence — lead and participating units kept apart — or, where a document states duties in
   prose ("由…负责"), with the unit it names. Other questions are answered with the sentence.
   ``Answer.short_answer`` holds the answer alone, by intent (``short_answer``): the units, the
   figure or date that met the question's need, the enumerated items, or the sentence.
3. The answer is refused ("not found") when the best sentence lacks what the question needs or
   covers too little of its key terms; the closest passages come back as possibly related.

The weights and the coverage floor were calibrated on eval/gold.jsonl as a whole, never on
single questions; eval/README.md has the numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from rag.annotations import ANNOTATION_OPEN, duty_text
from rag.clauses import bare_heading
from rag.duties import prose_unit
from rag.index import Index
from rag.question import Need, content_terms
from rag.short import clause_children, short_answer
from rag.types import Answer, Citation, ClauseTree, Hit, Responsibility
from rag.zh import fold, sentence_spans

NOT_FOUND = "未在已收录的政策文件中找到相关规定。"
RELATED = "以下条款可能相关，请核对原文。"
CLARIFY = (
    "请把问题说完整一些：写出要问的事项或政策名称，例如“谁负责医保跨省结算？”"
    "或“安全生产检查发现了多少处隐患？”。"
)
MIN_COVERAGE = 0.2  # share of the question's weighted terms in the sentence, title and path
WEIGHTS = {"context": 0.45, "sentence": 0.35, "meaning": 0.15, "rank": 0.2, "fits": 0.15}


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
    question: str, hits: list[Hit], index: Index, started: float, vector: np.ndarray
) -> Answer:
    """The extractive answer to ``question`` (embedded as ``vector``) from retrieved ``hits``."""
    need = Need.of(question)
    intent = need.intent
    candidates = rank_sentences(question, hits, index, vector, need)
    best = _best(candidates)
    found = best is not None and best.coverage >= MIN_COVERAGE and best.fits
    if found:
        core = _core(best, intent)
        quote = best.quote()
        basis = f"《{best.hit.chunk.title}》{best.clause_path}"
        text = (f"{core.rstrip('。')}。依据：{basis}：“{quote}”" if core != quote
                else f"{quote}（依据：{basis}）")  # fmt: skip
        citations = _citations(best, candidates)
        short = short_answer(question, best.quote(), need, best.duty, best.prose_unit,
                             clause_children(best.tree, best.start))  # fmt: skip
    else:
        short = None
        text = f"{NOT_FOUND}{RELATED if candidates else ''}"
        citations = _citations(None, candidates)
    latency = (time.perf_counter() - started) * 1000
    return Answer(question, text, found, intent, citations, latency, tuple(hits),
                  short_answer=short)  # fmt: skip


def clarify(question: str, latency_ms: float) -> Answer:
    """The answer to a question with no searchable word (“谁？”, “请问一下”, an emoji): ask for a
    fuller question instead of searching — a refusal would wrongly say the documents are silent."""
    return Answer(question, CLARIFY, False, "unclear", (), latency_ms)


def nothing_matches(question: str, described: str, latency_ms: float) -> Answer:
    """The answer when the asker's filters leave no document to search."""
    text = f"没有符合筛选条件（{described}）的文件，请放宽或清除筛选条件后再问。"
    return Answer(question, text, False, "general", (), latency_ms)


def rank_sentences(
    question: str, hits: list[Hit], index: Index, vector: np.ndarray, need: Need | None = None
) -> list[Candidate]:
    """Every sentence of the retrieved chunks, best first."""
    need = need or Need.of(question)
    return _score(_candidates(hits, index, _term_weights(question, index), need, vector))


def _term_weights(question: str, index: Index) -> dict[str, float]:
    """IDF weight of each content term of the question; unseen terms weigh the most."""
    unseen = index.unseen_idf()
    return {t: index.idf.get(t, unseen) for t in content_terms(index.terms(question))}


def _coverage(text: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text) / total if total else 0.0


def _candidates(
    hits: list[Hit], index: Index, weights: dict[str, float], need: Need, vector: np.ndarray
) -> list[Candidate]:
    """Every sentence of the hits (bare headings and repeats left out), with its features."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        tree = index.trees[hit.chunk.doc_id]
        text = tree.doc.text
        title = fold(hit.chunk.title)
        # terms the title already matches say which document, not which sentence
        own = {t: w for t, w in weights.items() if t not in title} or weights
        for s, e in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            clause = tree.clause_at(s)
            if (hit.chunk.doc_id, s) in seen or _is_heading(text, s, e, clause):
                continue
            seen.add((hit.chunk.doc_id, s))
            sentence = fold(text[s:e])
            context = f"{title} {fold(clause.path_text) if clause else ''} {sentence}"
            duty = _duty(tree, s, e)
            prose = None if duty else prose_unit(text[s:e])
            stored = index.sentence_vector(hit.chunk.doc_id, s, e)
            similarity = float(stored @ vector) if stored is not None else hit.dense_score
            fits = need.met(context, sentence, bool(duty or prose), duty.deadline if duty else "")
            coverage = _coverage(context, weights), _coverage(sentence, own)
            out.append(Candidate(hit, tree, s, e, *coverage, similarity, duty, prose, fits))
    return out


def _score(candidates: list[Candidate]) -> list[Candidate]:
    """Weighted sum of the features, best first; similarity and rank are scaled to 0..1 within
    this question, since their raw ranges carry no meaning across questions."""
    sims = [c.similarity for c in candidates if c.similarity is not None]
    low, high = (min(sims), max(sims)) if sims else (0.0, 0.0)
    top = max((c.hit.score for c in candidates), default=0.0) or 1.0

    def score(c: Candidate) -> float:
        close = (
            (c.similarity - low) / (high - low) if c.similarity is not None and high > low else 0
        )
        return (WEIGHTS["context"] * c.coverage + WEIGHTS["sentence"] * c.own_coverage
                + WEIGHTS["meaning"] * close + WEIGHTS["rank"] * c.hit.score / top
                + WEIGHTS["fits"] * c.fits)  # fmt: skip

    return sorted((replace(c, score=score(c)) for c in candidates), key=lambda c: -c.score)


def _is_heading(text: str, start: int, end: int, clause) -> bool:
    return bare_heading(text, clause, start, end)


def _duty(tree: ClauseTree, start: int, end: int) -> Responsibility | None:
    """The annotation whose covered text overlaps this sentence the most."""
    best, overlap = None, 0
    for r in tree.responsibilities:
        o = min(end, r.note_end) - max(start, r.start)
        if o > overlap:
            best, overlap = r, o
    return best


def _best(candidates: list[Candidate]) -> Candidate | None:
    """The top sentence, or the best one that has what the intent asks for if it scores nearly
    as well."""
    if not candidates:
        return None
    top = candidates[0]
    fitting = next((c for c in candidates if c.fits), None)
    if fitting and not top.fits and fitting.score >= 0.8 * top.score:
        return fitting
    return top


def _core(c: Candidate, intent: str) -> str:
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
