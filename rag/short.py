"""The short answer: the answer alone, by the question's intent — the units (lead and
participants apart), the figure or date that met the need, the enumerated items, or the sentence.

Pure functions of the question and the supporting sentence, so each rule is tested on its own
inputs (``tests/test_short.py``); ``rag.answer`` picks the sentence, this module cuts the answer
out of it.
"""

from __future__ import annotations

import re

from rag.duties import prose_unit
from rag.question import ASKED_MEASURE, MEASURE, YEAR, Need
from rag.types import Responsibility
from rag.zh import fold

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


def short_answer(
    question: str, quote: str, need: Need, duty: Responsibility | None, prose: str | None
) -> dict:
    """The answer alone, by intent: who (lead and participants apart), the figure or date that met
    the need, the items a listing question asks for, else the sentence. ``quote`` is the
    supporting sentence without its annotation, ``duty`` the annotation covering it and ``prose``
    the unit a duty stated in prose names."""
    if need.intent == "responsibility":
        if duty and (duty.lead or duty.participants or duty.other):
            short = {"lead": list(duty.lead), "participants": list(duty.participants)}
            if duty.other:
                short["other"] = [{"role": role, "unit": unit} for role, unit in duty.other]
            return short
        if prose:
            return {"lead": [_closest_prose_unit(question, quote) or prose],
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
