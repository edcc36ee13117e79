"""The short answer: the answer alone, by the question's intent — the units (lead and
participants apart), the figure or date that met the need, the enumerated items, or the sentence.

Pure functions of the question and the supporting sentence, so each rule is tested on its own
inputs (``tests/test_short.py``); ``rag.answer`` picks the sentence, this module cuts the answer
out of it.
"""

from __future__ import annotations

import re

from rag.duties import prose_duty
from rag.question import ASKED_MEASURE, MEASURE, YEAR, Need
from rag.types import ClauseTree, Responsibility
from rag.zh import fold

# questions asking for an enumeration (有哪些…, 哪几类, 哪三项); 哪些单位 is responsibility;
# “有什么用/作用/区别” asks what a thing does, and “哪一级” asks for one, not a list
LISTING = re.compile(
    r"哪些|哪几|哪[二两三四五六七八九十]|包括什么|有什么(?!用|作用|好处|区别|影响|意义|关系)"
)
# a question asking where (哪一级, 去哪里) is answered by the unit a duty names, as “who” is
WHERE = re.compile(r"哪一?级|哪一层级|[去到向在由]哪里?|何处")  # 由哪里的部门处理: who
NUMERAL = "[一二两三四五六七八九十百千半]"
SPAN = "(?:个)?(?:工作日|个月|月|年|日|天|周|小时)"
UNIT = "周岁|岁|场次|个[大小]?类|个百分点"  # units MEASURE or SPAN would cut short (45周, 2个)
# a bound written before a figure; 每人每月 before it is kept (“按每人每月300元”)
BOUND = (
    "约|近|不满|超过|不少于|不低于|不超过|不高于|不得超过|不能超过|不得低于|最高不超过|最高|最低|最多"
    "|最少|至少|满|[<>≤≥]"
)
PER = "(?:每(?:人|户|月|年|日|天|次|季度|周|件|家|个)){0,3}"
AFTER = "(?:左右|以上|以内|以下|上下|之内|内|不变)?"  # 30日内, 3年以上
PER_UNIT = "(?:/(?:人|户|次|日|天|月|年|件|家|亩|平方米))*"  # 240元/人/日
ARABIC = (
    rf"(?:{BOUND})?{PER}(?:{BOUND})?每?(?<![\d.,第])\d+(?:,\d{{3}})*(?:\.\d+)?"
    rf"\s*(?:余|多)?\s*[万亿千百]{{0,2}}\s*(?:余|多)?\s*(?:{UNIT}|{SPAN}|{MEASURE})?{PER_UNIT}{AFTER}"
)
# 两年, 十五日内; not an article or ordinal (第八条, 二十三条), not 同一家, not 一次性
CHINESE = (
    rf"(?:{BOUND})?{PER}每?(?<![第同\d一二两三四五六七八九十百千]){NUMERAL}+"
    rf"(?:{UNIT}|{SPAN}|个|项|次|名|家|类|批|条|位|件|倍)(?!性){AFTER}"
)
# a date: 2019年6月底前, 每年2月底前, 5月19日, 次月十五日内; a time of day may follow it
DAY = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
DATE_ONE = (
    r"(?:(?:每年|次年|当年)?\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?"
    r"|(?:每年|次年|当年)?\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
    rf"|(?:每月|次月|当月){DAY}|年底|年内)"
    r"(?:底|末|初|中旬|上旬|下旬)?(?:前|以前|之前|起|以后|后|内)?"
    r"(?:\s*\(?(?:上午|下午|晚上)?\d{1,2}(?::\d{2}|点|时)\)?)?"
)
RANGE = r"\s*(?:至|到|-|—|–|~)\s*"  # 3—12个月, 4月1日至6月20日, 2025年11月-2027年3月
VALUE = re.compile(  # a date, or a figure with its unit, as written (on folded text)
    rf"(?P<date>{DATE_ONE}(?:{RANGE}{DATE_ONE})?)"
    rf"|(?P<num>(?:{ARABIC}|{CHINESE})(?:{RANGE}(?:{ARABIC}|{CHINESE}))?)"
)


def short_answer(
    question: str,
    quote: str,
    need: Need,
    duty: Responsibility | None,
    prose: str | None,
    items_from: list[str] | None = None,
) -> dict:
    """The answer alone, by intent: who (lead and participants apart), the figure or date that met
    the need, the items a listing question asks for, else the sentence. ``quote`` is the
    supporting sentence without its annotation, ``duty`` the annotation covering it, ``prose``
    the unit a duty stated in prose names and ``items_from`` the texts of the sub-clauses under
    the sentence's clause (where “符合以下条件之一：” leaves its items)."""
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
        announced = lead_in_items(items_from or []) if LEAD_IN.search(fold(quote)) else []
        if items := announced or listed_items(quote):
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
RATIO_ASKED = re.compile(r"几成|百分之几|多大比例|比例|占比|比率|费率")
RATIO_VALUE = re.compile(r"%|成|分之")
ASKED_SPAN = re.compile(r"(?:多少|几)\s*个?\s*(工作日|小时|年|月|天|日|周)")
# an item number (（2）, (3)) or an article number (第八条) is no figure
NUMBERING = re.compile(
    r"\(\d{1,2}\)|^\s*\d{1,2}[.、]\s*|第[\d一二三四五六七八九十百零〇]+[条款项章节]"
)
ALTERNATIVES = re.compile(r"\s*(?:、|或者|或|和|及)\s*")


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
    3年) comes whole.

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
    units = [m.group(1) for m in ASKED_MEASURE.finditer(q)]
    span_asked = [m.group(1) for m in ASKED_SPAN.finditer(q)]
    phrases = _phrases(folded)
    ratio = bool(RATIO_ASKED.search(q))
    strict = ratio or bool(re.search(r"多少钱|(?:多少|几)\s*(?:次|回|元|万元|亿元|岁|周岁|%)", q))
    bound = UPPER if UPPER_ASKED.search(q) else LOWER if LOWER_ASKED.search(q) else None

    def span(m: re.Match[str]) -> tuple[int, int]:
        return next(((s, e) for s, e in phrases if s <= m.start() < e), (0, 0))

    def phrase(m: re.Match[str]) -> str:
        s, e = span(m)
        return folded[s:e]

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

    def other_span(m: re.Match[str]) -> bool:
        return bool(span_asked) and not any(u in m.group(0) for u in span_asked)

    values = [
        m
        for m in VALUE.finditer(blank)
        if (m.group(wanted) or need.intent == "time") and this_year(m)
    ]
    if not values:
        return ""
    if SEVERAL.search(q) or len(ASKED.findall(q)) > 1:
        several = [
            m
            for m in values
            if has_unit(m) and (met(m) or any(u in m[0] for u in units)) and not stated(m)
        ]
        if len(several) > 1:
            return "、".join(sentence[m.start() : m.end()].strip() for m in several)
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
                replaced(m),
                unbounded(m),
                other_case(m),
                -anchored(m),
                -_shared(q, phrase(m)),
                not met(m),
                not has_unit(m),
                -_shared(q, piece(m)),
                m.start(),
            ),
        )
    if not ranked:
        return ""
    best = ranked[0]
    start, end = best.start(), best.end()
    for m in values[values.index(best) + 1 :]:  # 1年、2年或3年: the alternatives come together
        gap = blank[end : m.start()]
        if not (ALTERNATIVES.fullmatch(gap) and has_unit(m) and _unit(m[0]) == _unit(best[0])):
            break
        end = m.end()
    return sentence[start:end].strip()


ASKING = re.compile(r"多少|几|多久|多长")


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
    its ；-separated parts, or the 、-separated items of its most enumerating phrase; [] when it
    enumerates nothing. A closing remark that names the
    responsible units is no item.

    >>> listed_items("着力发展足球、篮球、排球等职业联赛。")
    ['着力发展足球', '篮球', '排球']
    >>> listed_items("主要任务：一是稳就业；二是保民生。")
    ['一是稳就业', '二是保民生']
    >>> listed_items("进出口飞机、船舶等大型设备的,实行委托监管。（海关总署、财政部负责）")
    ['进出口飞机', '船舶']
    >>> listed_items("可采用省级统建模式，也可根据实际情况选择省级、地市级分建模式。")
    ['省级统建模式', '省级、地市级分建模式']
    """
    text = DUTY_REMARK.sub("", sentence.strip()).strip().rstrip("。.")
    if m := EITHER.search(fold(text)):  # 可采用甲模式，也可选择乙、丙分建模式
        return [text[m.start("a") : m.end("a")], text[m.start("b") : m.end("b")]]
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
