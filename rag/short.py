"""The short answer: the answer alone, by the question's intent — the units (lead and
participants apart), the figure or date that met the need, the enumerated items, or the sentence.

Pure functions of the question and the supporting sentence, so each rule is tested on its own
inputs (``tests/test_short.py``); ``rag.answer`` picks the sentence, this module cuts the answer
out of it.
"""

from __future__ import annotations

import re

from rag.duties import prose_duty
from rag.items import KIND_WORDS, asked_kind, declared_kind, enumerates_kind, kind_share, same_kind
from rag.question import (
    ASKED_MEASURE,
    INTERROGATIVE,
    MEASURE,
    MONEY,
    OFTEN,
    SPLIT,
    YEAR,
    Need,
)
from rag.terms import words
from rag.types import ClauseTree, Responsibility
from rag.zh import fold

# questions asking for an enumeration (有哪些…, 哪几类, 哪三项, 什么材料); 哪些单位 is
# responsibility;
# “有什么用/作用/区别” asks what a thing does, and “哪一级” asks for one, not a list
# “哪几天/哪几年” asks for a date, not a list
LISTING = re.compile(
    r"哪些|哪几(?!\s*(?:天|年|日|号|个?月|个?小时|周))|哪[二两三四五六七八九十]|包括什么"
    r"|什么(?=材料|资料|证件|证明|手续)"
    r"|有什么(?!用|作用|好处|区别|影响|意义|关系)"
)
# a question asking where (哪一级, 去哪里) is answered by the unit a duty names, as “who” is
WHERE = re.compile(r"哪一?级|哪一层级|[去到向在]哪里?|由哪里|何处")  # 由哪里的部门处理: who
NUMERAL = "[一二两三四五六七八九十百千半]"
SPAN = "(?:个)?(?:工作日|个月|月|年|日|天|周|小时)"
UNIT = "周岁|岁|场次|个[大小]?类|个百分点"  # units MEASURE or SPAN would cut short (45周, 2个)
# a bound written before a figure; 每人每月 before it is kept (“按每人每月300元”)
BOUND = (
    "约|近|不满|超过|不少于|不低于|不超过|不高于|不得超过|不能超过|不得低于|最高不超过|最高|最低|最多"
    "|最少|至少|满|[<>≤≥]"
)
EACH = "每(?:人|户|月|年|日|天|次|季度|周|件|家|个)"
PER = f"(?:{EACH}){{0,3}}"
AFTER = "(?:左右|以上|以内|以下|上下|之内|内|以前|之前|前|不变)?"  # 30日内, 3年以上, 3个月前
PER_UNIT = "(?:/(?:人|户|次|日|天|月|年|件|家|亩|平方米))*"  # 240元/人/日
ARABIC = (
    rf"(?:{BOUND})?{PER}(?:{BOUND})?每?(?<![\d.第])(?<!\d,)\d+(?:,\d{{3}})*(?:\.\d+)?"
    rf"\s*(?:余|多)?\s*[万亿千百]{{0,2}}\s*(?:余|多)?\s*(?:{UNIT}|{SPAN}|{MEASURE})?{PER_UNIT}{AFTER}"
)
# 两年, 十五日内; not an article or ordinal (第八条, 二十三条), not 同一家, not 一次性
CHINESE = (
    rf"(?:{BOUND})?{PER}每?(?<![第同\d一二两三四五六七八九十百千]){NUMERAL}+"
    rf"(?:{UNIT}|{SPAN}|个|项|次|名|家|类|批|条|位|件|倍)(?!性){AFTER}"
)
# a date: 2019年6月底前, 每年2月底前, 5月19日, 11月20前 (日 left out), 次月十五日内; a time of
# day may follow it
DAY = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"
MONTH_DAY = r"\d{1,2}\s*月(?:\s*\d{1,2}(?:\s*[日号]|(?=\s*(?:前|以前|之前))))?"
DATE_ONE = (
    rf"(?:(?:每年|次年|当年)?\d{{4}}\s*年(?:\s*{MONTH_DAY})?"
    rf"|(?:每年|次年|当年)?{MONTH_DAY}"
    rf"|(?:每月|次月|当月){DAY}|年底|年内)"
    r"(?:底|末|初|中旬|上旬|下旬)?(?:前|以前|之前|起|以后|后|内)?"
    r"(?:\s*\(?(?:上午|下午|晚上)?\d{1,2}(?::\d{2}|点|时)\)?)?"
)
# a share written as a fraction or a ratio: 三分之二, 百分之三十, 7:3 (not a time of day: 9:30)
SHARE = (
    rf"(?:{BOUND})?(?:{NUMERAL}+分之{NUMERAL}+"
    r"|(?<![\d.:])\d{1,3}\s*[:∶]\s*\d{1,3}(?![\d.:]))"
)
RANGE = r"\s*(?:至|到|-|—|–|~)\s*"  # 3—12个月, 4月1日至6月20日, 2025年11月-2027年3月
VALUE = re.compile(  # a date, a figure with its unit, or how often (每月, 按季度), as written
    rf"(?P<date>{DATE_ONE}(?:{RANGE}{DATE_ONE})?)"
    rf"|(?P<num>{SHARE}|(?:{ARABIC}|{CHINESE})(?:{RANGE}(?:{ARABIC}|{CHINESE}))?)"
    rf"|(?P<often>{OFTEN.pattern})"
)  # on folded text; a frequency only where neither a date nor a figure starts (每月1500元)


def short_answer(
    question: str,
    quote: str,
    need: Need,
    duty: Responsibility | None,
    prose: str | None,
    items_from: list[str] | None = None,
    around: tuple[str, list[str]] | None = None,
) -> dict:
    """The answer alone, by intent: who (lead and participants apart), the figure or date that met
    the need, the items a listing question asks for, else the sentence. ``quote`` is the
    supporting sentence without its annotation, ``duty`` the annotation covering it, ``prose``
    the unit a duty stated in prose names and ``items_from`` the texts of the sub-clauses under
    the sentence's clause (where “符合以下条件之一：” leaves its items) and ``around`` the
    lead-in above the sentence's clause with the texts of its sub-clauses (``lead_in_above``)."""
    q = fold(question)
    who = need.intent == "responsibility" or (prose is not None and WHERE.search(q) is not None)
    if who:
        if duty and (duty.lead or duty.participants or duty.other):
            return units_asked(question, duty)
        if prose:
            posts = need.topics if need.intent == "responsibility" else ()
            leads, participants = _closest_prose_duty(question, quote, posts) or ([prose], [])
            return {"lead": leads, "participants": participants}
    if need.intent == "time" and duty and duty.deadline:
        return {"value": duty.deadline}
    # “哪几类” asks for the items, not their count
    if LISTING.search(q):
        if items := asked_items(question, quote, items_from or [], around):
            return {"items": items}
    if need.intent in ("time", "quantity"):
        value = met_value(quote, need, question)
        if not value and LEAD_IN.search(fold(quote)):  # “按以下标准扣除：” (一)…每月1500元
            value = announced_value(items_from or [], need, question)
        if value:
            return {"value": value}
    return {"text": quote}


def units_asked(question: str, duty: Responsibility) -> dict:
    """The annotation's units: the lead and participants, unless the question names the post of
    another role (“市卫健委内牵头处室” for “哪个处室牵头”); with no lead, the first other role
    (“商务部指导”) leads.

    >>> d = Responsibility((), ("乙社",), 0, 1, 1, 2, other=(("指导部门", "甲部"),))
    >>> units_asked("谁指导？", d)
    {'lead': ['甲部'], 'participants': ['乙社']}
    >>> d = Responsibility(("甲局",), (), 0, 1, 1, 2,
    ...                    other=(("局内牵头处室", "科教处"), ("局内配合处室", "基层处")))
    >>> units_asked("局内由哪个处室牵头？", d)
    {'lead': ['科教处'], 'participants': ['基层处']}
    >>> units_asked("由哪个单位牵头？", d)["lead"]
    ['甲局']
    """
    lead, participants, other = list(duty.lead), list(duty.participants), list(duty.other)
    q = fold(question)
    asked = [(role, unit) for role, unit in other if _asks_post(q, role)]
    if asked:
        leads = [u for r, u in asked if not HELPING.search(r)] or [asked[0][1]]
        helpers = [u for r, u in other if HELPING.search(r) and _post(r) == _post(asked[0][0])]
        return {"lead": leads, "participants": [u for u in helpers if u not in leads]}
    if not lead and other:
        lead, other = [other[0][1]], other[1:]
    short: dict = {"lead": lead, "participants": participants}
    if other:
        short["other"] = [{"role": role, "unit": unit} for role, unit in other]
    return short


HELPING = re.compile(r"配合|参与|协助|协同|成员")
POST = re.compile(r"(处室|科室|处|科|股|司局|司|室|组)$")  # a post inside a unit, not 单位/部门


def _asks_post(question: str, role: str) -> bool:
    """Does the (folded) question ask for the kind of post the role names (“哪个处室”)?

    >>> _asks_post("哪个处室牵头", "局内牵头处室"), _asks_post("如何处理", "局内牵头处")
    (True, False)
    """
    post = _post(role)
    return bool(post) and re.search(rf"(?:哪个|哪些|哪一?|什么){post}", question) is not None


def _post(role: str) -> str:
    """The kind of post a role names when it is narrower than a unit (处室, 科室); "" otherwise.

    >>> _post("市卫健委内牵头处室"), _post("指导部门")
    ('处室', '')
    """
    m = POST.search(fold(role))
    return m.group(1) if m else ""


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


# “河北省委和省政府要切实履行主体责任”, “…办公厅（室）对…负总责”: duties the prose grammar leaves
ANSWERABLE = re.compile(
    r"^(?P<who>[^,;:。\s]{2,30}?)(?:要|应当|应|必须)?(?:切实)?(?:履行|承担|担负|负起)"
    r"[^,;:。]{0,4}?责任|^(?P<who2>[^,;:。\s]{2,30}?)对[^,;:。]{1,40}负(?:总|全面|主体)责"
)
# “在X统筹指导下” names who oversees, not who does
OVERSEER = re.compile(r"^在.{2,40}(?:领导|指导|统筹|支持|帮助|监督)下$")
POST_AFTER = re.compile(r"(?:主要|分管[^,;:。]{0,12}?的)?(?:负责人|负责同志)")


def _closest_prose_duty(
    question: str, sentence: str, posts: tuple[str, ...] = ()
) -> tuple[list[str], list[str]] | None:
    """The units that lead (and the units joining them) named in prose by the phrase of
    ``sentence`` closest to the question: a sentence may give two duties
    (“…经费由结对单位落实，…活动经费由开发区财政承担”); “在X统筹指导下” names who
    oversees, not who does; a post (“国家粮食局主要负责人”) is named whole; ``posts`` are the
    posts the question asks about (their holders count then).

    >>> _closest_prose_duty("这项改革的主体责任由谁承担？",
    ...                     "在甲领导小组统筹指导下，乙省委和省政府要切实履行主体责任，推进工作。")
    (['乙省委和省政府'], [])
    >>> _closest_prose_duty("谁建立制度？", "区司法行政部门应当会同同级财政部门建立制度。")
    (['区司法行政部门'], ['同级财政部门'])
    >>> _closest_prose_duty("主任由谁兼任？", "主任由甲局主要负责人兼任。", ("主任",))
    (['甲局主要负责人'], [])
    >>> _closest_prose_duty("谁协调？", "甲委、乙办要做好综合协调。")  # co-listed units all lead
    (['甲委', '乙办'], [])
    """
    folded, q = fold(sentence), fold(question)
    found = []
    for s, e in _phrases(folded):
        text = sentence[s:e]
        if OVERSEER.match(folded[s:e].rstrip(",;:。!? ")):
            continue
        duty = prose_duty(text, posts)
        m = ANSWERABLE.search(folded[s:e].lstrip())
        if m:
            at = s + len(folded[s:e]) - len(folded[s:e].lstrip())
            g = "who" if m.group("who") else "who2"
            lead, others, helpers = sentence[at + m.start(g) : at + m.end(g)], [], []
        elif duty:
            lead, others, helpers = duty.lead, list(duty.co_leads), list(duty.participants)
        else:
            continue
        lead = re.sub(r"^(?:并|和|及|在)", "", lead.strip())
        at = text.find(lead)
        if at >= 0 and (post := POST_AFTER.match(fold(text[at + len(lead) :]))):
            lead += text[at + len(lead) : at + len(lead) + post.end()]
        found.append((_shared(q, folded[s:e]), -s, [lead, *others], helpers))
    if not found:
        return None
    best = max(found)
    return best[2], best[3]


UPPER_ASKED = re.compile(r"最多|最高|上限|不超过|至多|最长|封顶|不得超过")
LOWER_ASKED = re.compile(r"最少|最低|下限|至少|不低于|不少于|起码|最短")
UPPER = re.compile(r"不超过|不得超过|不能超过|不高于|最高|最多|至多|以下$|以内$")
LOWER = re.compile(r"不低于|不少于|不得低于|至少|最低|最少|以上$")
# “由24项调整为30项”, “由3年以上放宽至1年以上”: the first figure is the one the change replaced
CHANGED = re.compile(
    r"^[^,;。]{0,30}?(?:调整|放宽|提高|增加|降低|减少|扩大|延长|缩短|上调|下调|提升|改)(?:为|至|到)"
)
FORMER = re.compile(r"原(?!则|因)|调整前|此前|以前的|之前的")  # the question asks the old figure
RATIO_ASKED = re.compile(rf"几成|百分之几|多大比例|比例|占比|比率|费率|{SPLIT}")
RATIO_VALUE = re.compile(r"%|成|分之|\d\s*[:∶]\s*\d")
# 多少一次性补助, 多少补贴: a sum is asked, and a sum (元) answers it
MONEY_ASKED = re.compile(rf"(?:多少|几)[^,;:。?!]{{0,8}}?(?:{MONEY.pattern})")
ASKED_SPAN = re.compile(r"(?:多少|几)\s*个?\s*(工作日|小时|年|月|天|日|周)")
# an item number (（2）, (3)) or an article number (第八条) is no figure
NUMBERING = re.compile(
    r"\(\d{1,2}\)|^\s*\d{1,2}[.、]\s*|第[\d一二三四五六七八九十百零〇]+[条款项章节]"
)
ALTERNATIVES = re.compile(r"\s*(?:、|或者|或|和|及)\s*")
HEAD_CHARS = 6  # a phrase names the case its figure is of in its first words (大型企业按30%)
FLOOR_THEN_CEILING = re.compile(r"以上\|.*(?:以下|以内)\s*$")  # a floor, then at once a ceiling


def met_value(sentence: str, need: Need, question: str = "") -> str:
    """The date or figure (with its unit) in ``sentence`` that answers the question, as written.

    A date must meet the need (a date, or a period); a figure is the one in the phrase closest to
    the question, meeting the need (the measure asked) breaking ties, since the measure is a
    guess (死亡率 → %, yet the sentence writes <0.002) — except a measure the question names
    outright (多少钱, 几次, 几成), which the figure must have. No date is a figure, no phrase dated
    another year than the question's counts, a figure the question itself states is no answer,
    nor an item or article number, nor the figure a change replaced (由24项调整为30项); a
    question asking a bound (最多, 起码) wants the bounded figure, one naming a case (超过100人的)
    the figure of that case, and the words just before its 多少 (离境超过多少天) anchor the figure
    they also precede in the sentence; every met figure, joined with
    、, when the question asks for several (分别…, 多少…多少…); a run of alternatives (1年、2年或
    3年) comes whole; values given in turn (甲区、乙区分别为A、B) go with the item the question
    names, and a figure in an aside about a part (其中床位费…) yields unless the question names
    the part. A time question's value must meet its need (no year for 哪天). A value comes with
    its words (``_as_written``): a relative deadline with its anchor, a span with the word the
    question names before it, a frequency with its count (每季度至少主动联系1次).

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
    >>> q = "连续居住满90天的，要再满几年？"
    >>> met_value("居住满90天的年度连续满五年的,可以申请。", Need.of(q), q)
    '满五年'
    >>> q = "每人最多补多少？"
    >>> met_value("离校2年内的,按每人不超过1500元给予补助。", Need.of(q), q)
    '每人不超过1500元'
    """
    folded, q = fold(sentence), fold(question)
    blank = NUMBERING.sub(lambda m: " " * len(m.group(0)), folded)  # same length, no numbering
    wanted = "date" if need.intent == "time" else "num"
    spans = [m.span() for m in need.pattern.finditer(folded)] if need.pattern else []
    if need.prefer:  # the shape asked (a day, a start date, how often) or no value: the sentence
        spans = [m.span() for m in need.prefer.finditer(folded)]
    units = [m.group(1) for m in ASKED_MEASURE.finditer(q)]
    span_asked = [m.group(1) for m in ASKED_SPAN.finditer(q)]
    phrases = _phrases(folded)
    ratio = bool(RATIO_ASKED.search(q))
    named = re.search(r"多少钱|(?:多少|几)\s*(?:次|回|元|万元|亿元|岁|周岁|%)", q)
    strict = ratio or bool(named or MONEY_ASKED.search(q))
    bound = UPPER if UPPER_ASKED.search(q) else LOWER if LOWER_ASKED.search(q) else None

    def span(m: re.Match[str]) -> tuple[int, int]:
        return next(((s, e) for s, e in phrases if s <= m.start() < e), (0, 0))

    def phrase(m: re.Match[str]) -> str:
        s, e = span(m)
        return folded[s:e]

    def head(m: re.Match[str]) -> str:  # 大型企业按30%: the case a phrase opens with
        s, _ = span(m)
        return folded[s : m.start()][:HEAD_CHARS]

    def piece(m: re.Match[str]) -> str:  # 硕士每人7000元 of 博士每人1万元、硕士每人7000元; (…)
        s, e = span(m)
        cuts = [s, *(i + 1 for i in range(s, e) if folded[i] in "、()"), e + 1]
        return next(folded[a : b - 1] for a, b in zip(cuts, cuts[1:]) if a <= m.start() < b)

    def met(m: re.Match[str]) -> bool:
        return not spans or any(s < m.end() and m.start() < e for s, e in spans)

    def has_unit(m: re.Match[str]) -> bool:
        return bool(m.group("date")) or not m.group(0).rstrip()[-1].isdigit()

    def this_year(m: re.Match[str]) -> bool:
        dated = YEAR.findall(phrase(m))
        return not (need.years and dated and not all(y in dated for y in need.years))

    given = [_core(g.group(0)) for g in VALUE.finditer(q) if g.group("num")]

    def stated(m: re.Match[str]) -> bool:  # “满183天的…几年”: 183天 is the question's own
        return bool(re.search(rf"(?<![\d.]){re.escape(_core(m.group(0)))}(?![\d.])", q))

    def other_case(m: re.Match[str]) -> bool:  # “25%(超过100人的企业达到15%)” asked of 100人
        return bool(given) and not any(g in piece(m) and g != _core(m.group(0)) for g in given)

    asked = ASKING.search(q)
    before = q[: asked.start()] if asked else ""

    def anchored(m: re.Match[str]) -> int:  # “离境超过多少天” → “…离境超过30天”
        digit = re.search(r"\d|" + NUMERAL, m.group(0))
        lead_up = folded[max(0, m.start() - 8) : m.start() + (digit.start() if digit else 0)]
        return _common_tail(before, lead_up)

    def replaced(m: re.Match[str]) -> bool:
        return bool(CHANGED.match(folded[m.end() :])) and not FORMER.search(q)

    def unmet(m: re.Match[str]) -> bool:  # 几成 wants a percentage; a measure named, that one
        return not RATIO_VALUE.search(m.group(0)) if ratio else not met(m)

    def unbounded(m: re.Match[str]) -> bool:
        return bound is not None and not bound.search(m.group(0).strip())

    def other_span(m: re.Match[str]) -> bool:  # 多少天 is met by 20日 too
        return bool(span_asked) and not any(
            u in m.group(0) for asked in span_asked for u in SAME_SPAN.get(asked, asked)
        )

    values = [
        m
        for m in VALUE.finditer(blank)
        if (m.group(wanted) or need.intent == "time")
        and (need.often or not m.group("often"))
        and this_year(m)
    ]
    if need.intent == "time" and need.pattern and not spans:  # 2016年 is no answer to 哪天
        return ""
    if not values:
        return ""
    if SEVERAL.search(q) or len(ASKED.findall(q)) > 1:
        several = [
            m
            for m in values
            if has_unit(m) and (met(m) or any(u in m[0] for u in units)) and not stated(m)
        ]
        if len(several) > 1:
            return "、".join(_as_written(sentence, folded, m, q) for m in several)
    if own := _respective(blank, values, q):  # 甲区、乙区分别为1元、2元: the one asked of
        return _as_written(sentence, folded, own, q)
    if need.intent == "time":  # a date is what met the need; the closest phrase breaks ties
        ranked = sorted(
            (m for m in values if met(m)),
            key=lambda m: (
                stated(m),
                other_span(m),
                replaced(m),
                unbounded(m),
                not has_unit(m),
                -anchored(m),
                -_shared(q, phrase(m)),
                -_shared(q, piece(m)),
                m.start(),
            ),
        )
    else:  # the measure the need guessed (率 → %) may not be the one written (<0.002, 50名)
        ranked = sorted(
            values,
            key=lambda m: (
                stated(m),
                strict and unmet(m),
                _aside(blank, m, q),
                replaced(m),
                unbounded(m),
                other_case(m),
                -anchored(m),
                -_shared(q, head(m)) - _shared(q, phrase(m)),  # its opening words count twice
                not met(m),
                not has_unit(m),
                -_shared(q, piece(m)),
                m.start(),
            ),
        )
    if not ranked:
        return ""
    best = ranked[0]
    end = best.end()
    for m in values[values.index(best) + 1 :]:  # 1年、2年或3年: the alternatives come together
        gap = blank[end : m.start()]
        between = not gap.strip() and bool(FLOOR_THEN_CEILING.search(f"{blank[:end]}|{m[0]}"))
        joined = ALTERNATIVES.fullmatch(gap) or between  # 1000元以上5000元以下 is one range
        if not (joined and has_unit(m) and _unit(m[0]) == _unit(best[0])):
            break
        end = m.end()
    return _as_written(sentence, folded, best, q, end)


ASKING = re.compile(r"多少|几|多久|多长")
RESPECTIVELY = re.compile(r"分别(?:为|是|按|达到|给予|提高到|调整为)?\s*")
ITEM = r"[\u4e00-\u9fff]{1,10}"


def _respective(blank: str, values: list[re.Match[str]], question: str) -> re.Match[str] | None:
    """The value a question names the item of, where a sentence gives items and then their
    values in turn (“黄埔区、番禺区、南沙区的…分别为2413元、2512元、2121元” asked of 番禺 →
    2512元); None when the sentence pairs nothing or the question names no single item.

    >>> s = "甲区、乙区、丙区的标准分别为2413元、2512元、2121元。"
    >>> _respective(s, list(VALUE.finditer(s)), "乙区的标准是多少").group(0)
    '2512元'
    >>> _respective(s, list(VALUE.finditer(s)), "标准是多少") is None
    True
    """
    for said in RESPECTIVELY.finditer(blank):
        after = [m for m in values if m.start() >= said.end()]
        run = after[:1]
        for m in after[1:]:  # the values given in turn: 2413元、2512元、2121元
            if not ALTERNATIVES.fullmatch(blank[run[-1].end() : m.start()]):
                break
            run.append(m)
        n = len(run)
        if n < 2:
            continue
        lists = re.findall(rf"{ITEM}(?:(?:、|和|及){ITEM}){{{n - 1}}}", blank[: said.start()])
        items = re.split("、|和|及", lists[-1]) if lists else []
        if items:  # the first item may carry words before it, the last the words it qualifies
            items[0], items[-1] = items[0][-4:], items[-1].split("的")[0]
        scores = [_shared(question, item) for item in items]
        if len(items) == n and max(scores) > 0 and scores.count(max(scores)) == 1:
            return run[scores.index(max(scores))]
    return None


ASIDE = re.compile(r"[(（]其中([^()（）]*)[)）]")


def _aside(blank: str, m: re.Match[str], question: str) -> bool:
    """Is the value in an aside about a part (“120元(其中床位费不高于35元)”) that the question
    does not name?

    >>> s = "限额为每人每天120元(其中床位费不高于每人每天35元)"
    >>> [_aside(s, v, "限额每天最多多少") for v in VALUE.finditer(s)]
    [False, True]
    >>> [_aside(s, v, "床位费最多报多少") for v in VALUE.finditer(s)]
    [False, False]
    """
    aside = next((a for a in ASIDE.finditer(blank) if a.start() < m.start() < a.end()), None)
    if aside is None:
        return False
    words = re.sub(rf"{BOUND}|{EACH}|[^\u4e00-\u9fff]", " ", blank[aside.start(1) : m.start()])
    return not any(
        len(p) == 2 and p in question
        for w in words.split()
        for p in (w[i : i + 2] for i in range(len(w)))
    )


SAME_SPAN = {"天": ("天", "日"), "日": ("日", "天"), "周": ("周", "星期")}


def _as_written(sentence: str, folded: str, m: re.Match[str], q: str, end: int = 0) -> str:
    """A value as the sentence writes it, with the words that belong to it: the anchor of a
    relative deadline (保障期限届满3个月前), else, for a span or a count of times, the words just
    before it that the question names too (放宽至参保1年以上 asked of 参保 → 参保1年以上; 可连任一次
    asked of 连任 → 连任一次), which say what lasts or repeats."""
    start, end = m.start(), end or m.end()
    if m.group("often") and (times := TIMES.match(folded, end)):  # 每季度至少主动联系1次
        end = times.end()
    if m.group("num"):
        floor = max((i + 1 for i in range(start) if SEPARATOR.match(folded[i])), default=0)
        start = _anchor_start(folded, m, floor)
        if start == m.start() and LASTING.search(m.group(0).strip()):
            start = _named_before(folded, start, floor, q)
    return sentence[start:end].strip()


# how many times a frequency comes with: 每季度(至少主动联系1次), 每月(反馈一次)
TIMES = re.compile(rf"[^,;:。、()]{{0,8}}?(?:\d{{1,2}}|{NUMERAL}{{1,3}})\s*[次回]")


# a span or a count of times (not of people: 人次)
LASTING = re.compile(
    r"(?<!人)(?:年|月|日|天|周|星期|小时|次|回)(?:左右|以上|以内|以下|之内|内|前|以前|之前|不变)?$"
)
RELATIVE_END = re.compile(r"(?:前|以前|之前|内|以内|之内|后|以后)$")
ANCHOR_END = re.compile(r"(?:届满|期满|到期|结束|之日|之时|日|起|起计|起计的|前|后)$")
MAX_ANCHOR = 20


def _anchor_start(folded: str, m: re.Match[str], floor: int) -> int:
    """Where the anchor of a relative deadline (3个月前, 15日内) begins — from 自/从, or after
    在/于, to the value: “须在保障期限届满3个月前” → 保障期限届满, “自收到之日起15日内” →
    自收到之日起; the value's own start when it is no relative deadline or names no anchor.

    >>> s = "须在保障期限届满3个月前提交申请"
    >>> m = next(VALUE.finditer(s)); s[_anchor_start(s, m, 0) : m.end()]
    '保障期限届满3个月前'
    >>> s = "组织毕业2年内高校毕业生"
    >>> m = next(VALUE.finditer(s)); s[_anchor_start(s, m, 0) : m.end()]
    '2年内'
    """
    if not RELATIVE_END.search(m.group(0).strip()):
        return m.start()
    digit = re.search(rf"\d|{NUMERAL}", m.group(0))
    at = m.start() + (digit.start() if digit else 0)
    lead = folded[max(floor, at - MAX_ANCHOR) : at]
    if not ANCHOR_END.search(lead):
        return m.start()
    marks = [i for i, c in enumerate(lead) if c in "自从"] + [
        i + 1 for i, c in enumerate(lead) if c in "在于"
    ]
    if not marks or max(marks) >= len(lead) - 1:
        return m.start()
    return min(m.start(), at - len(lead) + max(marks))


def _named_before(folded: str, start: int, floor: int, question: str) -> int:
    """Where a value begins with the word just before it (two characters or more, as jieba cuts
    the phrase) when the question names that word before what it asks (参保 of “参保年限放宽到
    多久” in 放宽至参保1年以上; 连任 of 可连任一次); not a bound (最长), not part of a word
    (业后 of 学业后).

    >>> _named_before("放宽至参保1年以上", 5, 0, "参保年限放宽到多久")
    3
    >>> _named_before("结束学业后2年内", 5, 0, "毕业后多少年内")
    5
    """
    lead = words(folded[floor:start])
    word = lead[-1] if lead else ""
    asked = re.search(rf"{re.escape(word)}(?:{WHAT_LASTS})", question) if len(word) > 1 else None
    if asked is None or not HAN.fullmatch(word) or INTERROGATIVE.search(word) or "最" in word:
        return start
    return start - len(word)


HAN = re.compile(r"[\u4e00-\u9fff]+")
# what follows the word that says what lasts, in the question: 参保年限, 连任几次, 累计满多少天
WHAT_LASTS = r"年限|期限|时间|时长|多少|几|多久|多长|满|不满|超过|不超过|以上"


def qualified_values(sentence: str) -> list[tuple[str, str]]:
    """Every value of a sentence (dates, figures, frequencies; no item or article number) with
    the words that qualify it — those before it back to the previous value or separator — so a
    scorer can tell which value is about what the question asks (急难型…1个月内 vs
    支出型…12个月内).

    >>> qualified_values("支出型救助的事由应发生在申请日前12个月内,急难型的在1个月内。")
    [('12个月内', '支出型救助的事由应发生在申请日前'), ('1个月内', '急难型的在')]
    >>> qualified_values("第八条 任期五年，可连任一次。")
    [('五年', '任期'), ('一次', '可连任')]
    """
    folded = fold(sentence)
    blank = NUMBERING.sub(lambda m: " " * len(m.group(0)), folded)
    found, floor = [], 0
    for m in VALUE.finditer(blank):
        cut = max([floor, *(i + 1 for i in range(floor, m.start()) if SEPARATOR.match(folded[i]))])
        cut += len(blank[cut : m.start()]) - len(blank[cut : m.start()].lstrip())  # 第八条
        found.append((sentence[m.start() : m.end()].strip(), sentence[cut : m.start()].strip()))
        floor = m.end()
    return found


def _common_tail(a: str, b: str) -> int:
    """How many closing characters two texts share, when at least two (one is chance).

    >>> _common_tail("连续居住满", "已连续居住满"), _common_tail("每次", "累计满")
    (5, 0)
    """
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n if n >= 2 else 0


def _core(value: str) -> str:
    """A figure without the bound written before it: 100人 of 超过100人."""
    return re.sub(rf"^(?:{BOUND})", "", value.strip())


def _unit(value: str) -> str:
    """The unit a figure ends with (年 of 3年以上); "" for a bare number."""
    m = re.search(r"([^\d\s.,]+?)(?:左右|以上|以内|以下|上下|之内|内)?$", value.strip())
    return m.group(1) if m else ""


# a remark closing a sentence that names who is responsible: “（海关总署、财政部负责）”
DUTY_REMARK = re.compile(
    r"[(（〔【][^()（）〔〕【】]*(?:负责|牵头|配合|参与)[^()（）〔〕【】]*[)）〕】]\s*[。.]?$"
)


# two ways offered in turn: “可采用A，也可根据实际选择B”, “可以通过A，也可以通过B”
CHOOSE = r"(?:采用|选择|采取|实行|通过|选用)"
EITHER = re.compile(
    rf"可(?:以)?{CHOOSE}(?P<a>[^,;。]{{2,30}}?),(?:也|还|或)可(?:以)?[^,;。]{{0,12}}?{CHOOSE}"
    r"(?P<b>[^,;。]{2,30})"
)


def listed_items(sentence: str) -> list[str]:
    """The enumerated items of a sentence: the two ways it offers in turn (可采用A，也可选择B),
    its ；-separated parts, or the 、-separated items of its most enumerating phrase, cut clean of
    the words around the list (``_trimmed``); [] when it enumerates nothing. A closing remark that
    names the responsible units is no item, and 、 joining verbs or modifiers that share one
    object (集中推介、展示、销售特色农产品) makes no list.

    >>> listed_items("支持足球、篮球、排球等职业联赛。")
    ['足球', '篮球', '排球']
    >>> listed_items("主要任务：一是稳就业；二是保民生。")
    ['一是稳就业', '二是保民生']
    >>> listed_items("进出口飞机、船舶等大型设备的,实行委托监管。（海关总署、财政部负责）")
    ['进出口飞机', '船舶']
    >>> listed_items("可采用省级统建模式，也可根据实际情况选择省级、地市级分建模式。")
    ['省级统建模式', '省级、地市级分建模式']
    >>> listed_items("集中推介、展示、销售特色农产品。")
    []
    """
    return enumeration(sentence)[0]


# 等 closing a list, not 等级/一等奖/平等/同等
ET_CETERA = re.compile(
    r"(?<![一二三四五六七八九十同平对均相高中初上下头特])等(?![级奖次额同待候值])"
)


def enumeration(sentence: str, kind: str = "") -> tuple[list[str], str]:
    """``listed_items`` and the words right after the list's closing 等 (“等研发创新机构在…”,
    where an enumeration names its own kind: ``rag.items.declared_kind``); "" without one. Of
    several 、-lists, the one of the asked ``kind`` if any, else the longest.

    >>> enumeration("支持甲中心、乙中心等研发机构在区内发展。")
    (['甲中心', '乙中心'], '等研发机构在区内发展')
    >>> enumeration("面向干部群众、中小学生等群体开放企业、普及知识。")[0]
    ['干部群众', '中小学生']
    >>> s = "在北京市、上海市等地试点，支持甲企业、乙企业、丙企业等参与。"
    >>> enumeration(s)[0], enumeration(s, "城市")[0]
    (['甲企业', '乙企业', '丙企业'], ['北京市', '上海市'])
    """
    text = DUTY_REMARK.sub("", sentence.strip()).strip().rstrip("。.；;")
    text = ITEM_LABEL.sub("", ARTICLE.sub("", text))
    if m := EITHER.search(fold(text)):  # 可采用甲模式，也可选择乙、丙分建模式
        return [text[m.start("a") : m.end("a")], text[m.start("b") : m.end("b")]], ""
    if re.search("[；;]", text):
        body = re.split("[：:]", text, maxsplit=1)[-1]
        items = [p.strip() for p in re.split("[；;]", body) if p.strip()]
        if len(items) > 1:
            return items, ""
    phrases = [p for p in re.split("[，,：:。]", text) if "、" in p]
    lists = [found for p in sorted(phrases, key=lambda p: -p.count("、")) if (found := _listed(p))]
    of_kind = [f for f in lists if kind and enumerates_kind(f[0], kind, declared_kind(f[1], kind))]
    return (of_kind or lists or [([], "")])[0]


def _listed(phrase: str) -> tuple[list[str], str] | None:
    """The items of one phrase's 、-list and the words after its closing 等; None for no list."""
    parts = [p.strip() for p in _outside_brackets(phrase, "、")]
    after = ""
    closing = next((n for n, p in enumerate(parts) if ET_CETERA.search(p)), None)
    if closing is not None:  # …、两代表一委员等群体参观企业、普及知识: the list ends at 等
        m = ET_CETERA.search(parts[closing])
        parts, after = parts[:closing] + [parts[closing][: m.start()]], parts[closing][m.start() :]
    items = _trimmed([p for p in parts if p])
    if len(items) > 1 and not _shared_object(items, parts[-1]):
        return items, after
    return None


def _outside_brackets(text: str, mark: str) -> list[str]:
    """``text`` split at ``mark`` where no bracket is open: 市（地、州、盟）is one item.

    >>> _outside_brackets("市（地、州、盟）、县（市、区）", "、")
    ['市（地、州、盟）', '县（市、区）']
    """
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "(（〔【[《“":
            depth += 1
        elif ch in ")）〕】]》”" and depth:
            depth -= 1
        elif ch == mark and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


ARTICLE = re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+条\s*")
# one-character words that follow an item, not inside a word (对象, 作为, 在职)
PREPOSITIONS = (
    r"(?<![存现所正实自])在(?![于内职线校岗编])|对(?![象应接外口话称比手])|(?<![方导意倾])向"
    r"|(?<![达得受做])到|(?<![作认成行因称])为(?![主准止])|(?<![自理缘])由(?!于)|(?<!服)从(?![事业])"
)
# … and before an item: 是, 如, 即, 与; not 的, whose modifier may be the item's own
# (居家建床的长期失能人员)
LINKS = (
    rf"{PREPOSITIONS}|(?<![但还或只于就凡])是(?!否)|(?<![例比])如(?![何果])|(?<!立)即(?!时)"
    r"|(?<![参给])与"
)
# verbs that lead up to a list's first item (支持…, 鼓励…在…)
LEADING = (  # not 发展/建设/组织/保障/重点/主要: they begin or sit inside names (发展改革委)
    r"支持|鼓励|引导|参加|承接|确定|分为|包括|包含|涵盖|涉及|采取|采用|通过|建立|打造|推动|推进"
    r"|培育|保证|成为|提供|选择|设置|开设|加强|完善|提升|优化|聚焦|围绕|覆盖|设有|携带|持有"
    r"|会同|面向"
)
LEAD_UP = re.compile(f"{LINKS}|{LEADING}")
OPENING = re.compile(f"^(?:{LEADING})+")
# what follows a list's last item: a verb, or a count summing the list up (4个直辖市)
FOLLOW_UP = re.compile(
    rf"{PREPOSITIONS}|开设|设立|集聚|开展|进行|纳入|列入|作为|给予"
    r"|[一二两三四五六七八九十\d]+(?:个|大|类|项|种)(?!月|工作日|小时|百分点)"
)
LONGER = 1.25  # an end item this much longer than the others' median carries other words
SHORTER = 0.6  # … and is cut to no less than this share of the shortest other item


def _trimmed(items: list[str]) -> list[str]:
    """The items without the words leading up to the first (“支持国家产业创新中心”, “鼓励贫困
    地区在景区景点”) and following the last (“…服务区开设农产品销售专区”, “重庆4个直辖市”): a
    verb opening the list goes, and an end item longer than the others is cut at such a word —
    the first item after the last of them that leaves it not much shorter than the others, the
    last item before the first.

    >>> _trimmed(["鼓励贫困地区在景区景点", "宾馆饭店", "高速公路服务区开设农产品销售专区"])
    ['景区景点', '宾馆饭店', '高速公路服务区']
    >>> _trimmed(["重点保证北京", "天津", "上海", "重庆4个直辖市"])
    ['北京', '天津', '上海', '重庆']
    >>> _trimmed(["现阶段服务对象主要包含甲类居民", "乙类残疾人", "丙类特困人员", "丁类人员"])[0]
    '甲类居民'
    >>> _trimmed(["投诉人的姓名", "电话号码", "通讯地址"])
    ['投诉人的姓名', '电话号码', '通讯地址']
    >>> _trimmed(["在职职工", "退休人员", "灵活就业人员"])[0]
    '在职职工'
    """
    if len(items) < 2:
        return items
    first, last = OPENING.sub("", items[0]) or items[0], items[-1]
    others = [len(i) for i in items[1:-1] or items[1:]]
    if len(first) > LONGER * _median(others):
        least = max(2, SHORTER * min(others))
        cuts = [
            first[m.end() :]
            for m in LEAD_UP.finditer(first)
            if len(first) - m.end() >= (2 if OPENING.match(m.group(0)) else least)
            and first[m.end()] != "的"  # 成效突出的市: the verb was inside a modifier
        ]  # after a verb (通过网上) an item may be short, after 的/在 not (投诉人的姓名)
        first = min(cuts, key=len, default=first)
    others = [len(i) for i in [first, *items[1:-1]]]
    if len(last) > LONGER * _median(others):
        least = max(2, SHORTER * min(others))
        cuts = [last[: m.start()] for m in FOLLOW_UP.finditer(last) if len(last) - m.start() >= 4]
        last = min((c for c in cuts if len(c) >= least), key=len, default=last)
    return [first, *items[1:-1], last]


def _median(lengths: list[int]) -> float:
    return sorted(lengths)[len(lengths) // 2]


def _shared_object(items: list[str], written: str = "") -> bool:
    """Do the 、 join verbs or modifiers sharing the last item's object (推介、展示、销售特色
    农产品; 便捷、安全、智能的交通系统 — ``written`` is the last item as written) rather than
    items?

    >>> _shared_object(["推介", "展示", "销售特色农产品"]), _shared_object(["初级", "中级", "高级"])
    (True, False)
    >>> _shared_object(["便捷", "安全", "智能"], "智能的交通系统")
    True
    """
    head = items[1:-1] or items[:1]  # the first item may still carry words before it
    if not all(len(i) <= 2 for i in head):
        return False
    return len(items[-1]) >= 2 * max(map(len, head)) + 1 or bool(re.match(r"^.{1,2}的", written))


# a sentence whose items follow it as sub-clauses: “符合以下3个条件之一”, “包括下列情形：”
LEAD_IN = re.compile(
    r"(?:以下|下列|如下)[^,;。]{0,12}?(?:条件|情形|情况|标准|材料|方式|渠道|内容|事项|类|种|项)"
    r"|[两三四五六七八九十]个?(?:方面|项|类|种|条)(?:工作|措施|任务|内容|情形|条件)?[。.]?\s*$"
    r"|[:：]\s*$"
)
ITEM_LABEL = re.compile(
    r"^\s*(?:[(（]?[\d一二三四五六七八九十]{1,3}[)）.、．]|[一二三四五六七八九十]是)\s*"
)
MAX_ITEM_CHARS = 60


def lead_in_items(children: list[str]) -> list[str]:
    """The items a lead-in sentence announces, from the sub-clauses that follow it: each one's
    first sentence, its number and closing punctuation dropped, and “属于” (“（2）属于持证残疾人”)
    too; [] for fewer than two.

    >>> lead_in_items(["（1）属于持证残疾人；", "（2）曾获得国家助学贷款。详见附件。"])
    ['持证残疾人', '曾获得国家助学贷款']
    >>> lead_in_items(["（1）只有一项。"])
    []
    """
    items = []
    for child in children:
        text = ITEM_LABEL.sub("", child.strip())
        text = re.split(r"[。；;]", text, maxsplit=1)[0].strip()
        text = re.sub(r"^(?:属于|是|为)", "", text)
        if text:
            items.append(text[:MAX_ITEM_CHARS])
    return items if len(items) > 1 else []


def announced_value(children: list[str], need: Need, question: str) -> str:
    """The figure a lead-in (“按照以下标准扣除：”) leaves to its sub-clauses: the one of the
    sub-clause closest to the question, each read to its first line (a sub-clause runs on to
    the paragraphs after it).

    >>> q = "省会城市每月能扣多少？"
    >>> announced_value(["(一)直辖市、省会城市,扣除标准为每月1500元;",
    ...                  "(二)其他城市,扣除标准为每月800元。"], Need.of(q), q)
    '每月1500元'
    """
    q, lines = fold(question), [c.strip().split("\n", 1)[0] for c in children]  # its own text
    found = [
        (_shared(q, fold(c)), -n, v)
        for n, c in enumerate(lines)
        if (v := met_value(c, need, question))
    ]
    return max(found)[2] if found else ""


def clause_children(tree: ClauseTree, offset: int) -> list[str]:
    """The texts of the sub-clauses of the clause holding ``offset`` (for ``items_from``)."""
    clause = tree.clause_at(offset)
    if clause is None:
        return []
    return [tree.doc.text[c.start : c.end] for c in tree.clauses if c.parent == clause.index]


def lead_in_above(tree: ClauseTree, offset: int) -> tuple[str, list[str]] | None:
    """The text of the clause above the one holding ``offset`` up to its first sub-clause (“第九条
    投诉应当提供下列材料：”), and the texts of its sub-clauses: the sentence opening one of them is
    one of the items that lead-in announces. None at the top level, and for a sentence further
    into its clause."""
    clause = tree.clause_at(offset)
    if clause is None or clause.parent is None or tree.doc.text[clause.start : offset].strip():
        return None  # only the sentence opening a sub-clause is one of the items
    parent = tree.clauses[clause.parent]
    children = [c for c in tree.clauses if c.parent == parent.index]
    text = tree.doc.text
    return text[parent.start : children[0].start], [text[c.start : c.end] for c in children]


# the kind a lead-in announces: “提供下列材料：”, “需要办理的情形包括：”
ANNOUNCED_KIND = re.compile(
    rf"(?:下列|以下|如下)[^,;。:]{{0,12}}?(?P<a>{KIND_WORDS})"
    rf"|(?P<b>{KIND_WORDS})(?:主要)?(?:包括|有|如下|为)\s*:"
)


def announces_kind(lead_in: str, kind: str) -> bool:
    """Does a lead-in announce items of the asked kind (提供下列材料： for 材料)?

    >>> announces_kind("第九条 投诉应当提供下列材料：", "材料")
    True
    >>> announces_kind("需要办理汇算清缴的情形包括：", "情况")
    True
    >>> announces_kind("可以采取下列措施：", "方式"), announces_kind("可以采取下列措施：", "措施")
    (False, True)
    """
    folded = fold(lead_in)
    if len(kind) >= 2:  # the kind asked itself: 采取下列措施 for 措施
        head = re.escape(kind[-2:])
        if re.search(
            rf"(?:下列|以下|如下)[^,;。:]{{0,12}}?{head}|{head}(?:主要)?(?:包括|有|如下)", folded
        ):
            return True
    m = ANNOUNCED_KIND.search(folded)
    return bool(m) and same_kind(m.group("a") or m.group("b"), kind)


def asked_items(
    question: str,
    quote: str,
    children: list[str],
    around: tuple[str, list[str]] | None = None,
) -> list[str]:
    """The items a listing question gets from a sentence: those a lead-in sentence announces
    (its sub-clauses), else its own — unless they are not of the kind asked (哪些材料) and the
    lead-in above the sentence announces that kind: then the sentence is one of its items, and
    the answer is all of them.

    >>> around = ("投诉应当提供下列材料：", ["（一）姓名、电话；", "（二）投诉请求。"])
    >>> asked_items("投诉要交哪些材料？", "（一）姓名、电话；", [], around)
    ['姓名、电话', '投诉请求']
    >>> asked_items("投诉要写哪些联系信息？", "（一）姓名、电话；", [], around)
    ['姓名', '电话']
    """
    announced = lead_in_items(children) if LEAD_IN.search(fold(quote)) else []
    if announced:
        return announced
    kind = asked_kind(question)
    own, after = enumeration(quote, kind)
    if kind and around and not enumerates_kind(own, kind, declared_kind(after, kind)):
        lead, siblings = around
        if announces_kind(lead, kind) and (items := lead_in_items(siblings)):
            return items
    return own


def gives_asked_items(
    question: str,
    quote: str,
    children: list[str],
    around: tuple[str, list[str]] | None = None,
) -> bool:
    """Does the sentence give items of the kind the question asks for (哪几类中心, 哪些场所)? Its
    own enumeration of that kind, a lead-in announcing it (or whose items are of it), or the
    lead-in above it announcing it. False when the question names no kind. The answer stage
    lets only such sentences fit the question, when any retrieved sentence is one.

    >>> q = "园区要建成哪几类中心？"
    >>> gives_asked_items(q, "建成加工制造中心、研发设计中心、物流分拨中心。", [])
    True
    >>> gives_asked_items(q, "支持甲创新中心、乙技术中心、丙研发机构等研发创新机构发展。", [])
    False
    """
    kind = asked_kind(question)
    if not kind:
        return False
    if LEAD_IN.search(fold(quote)) and (announced := lead_in_items(children)):
        if announces_kind(quote, kind) or kind_share(announced, kind) > 0.5:
            return True
    own, after = enumeration(quote, kind)
    if enumerates_kind(own, kind, declared_kind(after, kind)):
        return True
    lead, siblings = around or ("", [])
    return announces_kind(lead, kind) and len(lead_in_items(siblings)) > 1
