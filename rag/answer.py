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

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from rag.annotations import ANNOTATION_OPEN, duty_text
from rag.clauses import bare_heading
from rag.duties import prose_unit
from rag.index import Index
from rag.question import ASKED_MEASURE, MEASURE, YEAR, Need, content_terms
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
# questions asking for an enumeration (有哪些…, 哪几类, 哪三项); 哪些单位 is responsibility
LISTING = re.compile(r"哪些|哪几|哪[一二两三四五六七八九十]|包括什么|有什么")
NUMERAL = "[一二两三四五六七八九十百千半]"
SPAN = "(?:个)?(?:工作日|个月|月|年|日|天|周|小时)"
UNIT = "场次|个[大小]?类|个百分点"  # units MEASURE would cut short
VALUE = re.compile(  # a date, or a figure with its unit, as written (on folded text)
    r"(?P<date>\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?(?:底|末|前|以前|之前|起)?"
    r"|\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?(?:底|末|前|以前|之前|起)?|年底|年内)"
    rf"|(?P<num>(?:约|近|超过|不少于|不低于|不超过|[<>≤≥])?\d+(?:,\d{{3}})*(?:\.\d+)?"
    rf"\s*(?:余|多)?\s*[万亿千百]{{0,2}}\s*(?:余|多)?\s*(?:{SPAN}|{UNIT}|{MEASURE})?"
    r"(?:左右|以上|以内|以下|上下)?"
    rf"|{NUMERAL}+(?:{SPAN}|个|项|次|名|家|类|批|条|位|件|倍))"
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
        short = short_answer(question, best, need)
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


def short_answer(question: str, c: Candidate, need: Need) -> dict:
    """The answer alone, by intent: who (lead and participants apart), the figure or date that met
    the need, the items a listing question asks for, else the sentence."""
    duty = c.duty
    quote = c.quote()
    if need.intent == "responsibility":
        if duty and (duty.lead or duty.participants or duty.other):
            short = {"lead": list(duty.lead), "participants": list(duty.participants)}
            if duty.other:
                short["other"] = [{"role": role, "unit": unit} for role, unit in duty.other]
            return short
        if c.prose_unit:
            return {"lead": [_closest_prose_unit(question, quote) or c.prose_unit],
                    "participants": []}  # fmt: skip
    if need.intent == "time" and duty and duty.deadline:
        return {"value": duty.deadline}
    # “哪几类” asks for the items, not their count
    if LISTING.search(fold(question)) and (items := listed_items(quote)):
        return {"items": items}
    if need.intent in ("time", "quantity") and (value := met_value(quote, need, question)):
        return {"value": value}
    return {"text": quote}


SEPARATOR = re.compile(r"[,;:。!?]")
SEVERAL = re.compile(r"分别|各自|各是|前后")
ASKED = re.compile(r"多少|几")


def _phrases(folded: str) -> list[tuple[int, int]]:
    """The comma-separated phrases of a folded sentence, as spans."""
    cuts = [0, *(m.end() for m in SEPARATOR.finditer(folded)), len(folded)]
    return [(s, e) for s, e in zip(cuts, cuts[1:], strict=False) if e > s]


def _shared(question: str, phrase: str) -> int:
    """How many of the question's two-character pieces the phrase contains.

    >>> q = "网格化满意度目标"
    >>> _shared(q, "网格化满意度达95%") > _shared(q, "网格化知晓率达90%")
    True
    """
    pieces = {question[i : i + 2] for i in range(len(question) - 1)}
    return sum(1 for p in pieces if not SEPARATOR.search(p) and p in phrase)


def _closest_prose_unit(question: str, sentence: str) -> str | None:
    """The unit named in prose by the phrase of ``sentence`` closest to the question (a sentence
    may give two duties: “…经费由结对单位落实，…活动经费由开发区财政承担”)."""
    folded, q = fold(sentence), fold(question)
    found = [(_shared(q, folded[s:e]), -s, unit) for s, e in _phrases(folded)
             if (unit := prose_unit(sentence[s:e]))]  # fmt: skip
    return max(found)[2] if found else None


def met_value(sentence: str, need: Need, question: str = "") -> str:
    """The date or figure (with its unit) in ``sentence`` that answers the question, as written.

    A date must meet the need (a date, or a period); a figure is the one in the phrase closest to
    the question, meeting the need (the measure asked) breaking ties, since the measure is a
    guess (死亡率 → %, yet the sentence writes <0.002). A figure with a unit beats a bare one,
    no date is a figure, no phrase dated another year than the question's counts; every met
    figure, joined with 、, when the question asks for several (分别…, 多少…多少…).

    >>> met_value("到2030年,行业营业收入达到5000亿元。", Need.of("行业收入要做到多大？"))
    '5000亿元'
    >>> met_value("请于2018年12月31日前报送国务院办公厅。", Need.of("最晚什么时候报送？"))
    '2018年12月31日前'
    >>> q = "2024年不低于多少？"
    >>> met_value("2023年不低于9%,2024年不低于9.5%。", Need.of(q), q)
    '不低于9.5%'
    >>> q = "宣讲多少场，覆盖多少人次？"
    >>> met_value("开展政策宣讲25场,覆盖群众6000余人次。", Need.of(q), q)
    '25场、6000余人次'
    """
    folded, q = fold(sentence), fold(question)
    wanted = "date" if need.intent == "time" else "num"
    spans = [m.span() for m in need.pattern.finditer(folded)] if need.pattern else []
    units = [m.group(1) for m in ASKED_MEASURE.finditer(q)]
    phrases = _phrases(folded)

    def phrase(m: re.Match[str]) -> str:
        return next((folded[s:e] for s, e in phrases if s <= m.start() < e), "")

    def met(m: re.Match[str]) -> bool:
        return not spans or any(s < m.end() and m.start() < e for s, e in spans)

    def has_unit(m: re.Match[str]) -> bool:
        return bool(m.group("date")) or not m.group(0)[-1].isdigit()

    def this_year(m: re.Match[str]) -> bool:
        dated = YEAR.findall(phrase(m))
        return not (need.years and dated and not all(y in dated for y in need.years))

    values = [m for m in VALUE.finditer(folded)
              if (m.group(wanted) or need.intent == "time") and this_year(m)]  # fmt: skip
    if SEVERAL.search(q) or len(ASKED.findall(q)) > 1:
        several = [m for m in values if has_unit(m) and (met(m) or any(u in m[0] for u in units))]
        if len(several) > 1:
            return "、".join(sentence[m.start() : m.end()].strip() for m in several)
    if need.intent == "time":  # a date is what met the need; the closest phrase breaks ties
        ranked = sorted(
            (m for m in values if met(m)),
            key=lambda m: (not has_unit(m), -_shared(q, phrase(m)), m.start()),
        )
    else:  # the measure the need guessed (率 → %) may not be the one written (<0.002, 50名)
        ranked = sorted(values, key=lambda m: (-_shared(q, phrase(m)), not met(m),
                                               not has_unit(m), m.start()))  # fmt: skip
    return sentence[ranked[0].start() : ranked[0].end()].strip() if ranked else ""


def listed_items(sentence: str) -> list[str]:
    """The enumerated items of a sentence: its ；-separated parts, or the 、-separated items of
    its most enumerating phrase; [] when it enumerates nothing.

    >>> listed_items("着力发展足球、篮球、排球等职业联赛。")
    ['着力发展足球', '篮球', '排球']
    >>> listed_items("主要任务：一是稳就业；二是保民生。")
    ['一是稳就业', '二是保民生']
    """
    text = sentence.strip().rstrip("。.")
    if re.search("[；;]", text):
        body = re.split("[：:]", text, maxsplit=1)[-1]
        parts = re.split("[；;]", body)
    else:
        phrase = max(re.split("[，,：:。]", text), key=lambda p: p.count("、"))
        parts = phrase.split("、") if "、" in phrase else []
        if parts:
            parts[-1] = re.split("等", parts[-1])[0]
    items = [p.strip() for p in parts if p.strip()]
    return items if len(items) > 1 else []


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
