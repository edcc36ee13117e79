"""What a question asks for: its intent, and what a sentence must contain to answer it.

Four intents, recognised by an ordered pattern table (first match wins) on the folded question
(traditional characters read as simplified; 甚么 as 什么): responsibility (谁/哪位/哪个部门/
哪家机构/归谁/牵头/负责…), time (何时/哪年/几号/哪天/期限/多长…), quantity (多少/几/比例…) and
general. “哪几类” asks for a list and “十几岁” is no question, so neither is a count.
A ``Need`` turns the intent into checks on a candidate sentence:

- responsibility — the sentence carries units (an annotation, or a duty stated in prose);
  a question about a post (组长是谁, 总指挥由谁担任) needs a sentence naming that post — not its
  deputy (副组长) — and is also met by the post's holder (总指挥：X主要负责人);
- quantity — a figure, counted in the measure asked for (多少万元 → …万元) or one alike: 名/人/位
  all count people, 个 stands for the counter of a body, a place or a person (几个 → 1家, 300名)
  but not of items or times (130项, 12个月); 多少平方米 → …㎡;
- a ratio question (比例/占比/配比/几成) wants …%/…成/…分之…/1:5 even when it is about money
  (服务费的多少比例); “工资标准的多少” (a share of a sum) takes a ratio or an amount; a question
  about money (资金/投资/工资…) otherwise needs a sentence naming it, with an amount in 元;
- a bare figure is no year (2025年), date (3月1日), ordinal (第五) or enumerator (1.); an ordinal
  question (第几级) wants an ordinal of that kind;
- time — a date or period (incl. 次月十五日, 每月25日, 四月一日); a deadline question (何时完成/
  截止/最晚) is also met by an annotation's 完成时限 or a relative deadline (届满3个月前, 15日内),
  not by a bare year (“将2016年实施的…”) unless it reads as one (到2025年, 2025年底前); a day
  question (哪天/几号) needs a day (2006年1月1日, 11月20前, 之日起15日内); a start question
  (从哪天开始执行) a date things hold from (自…起, …起施行); a how-often question (隔多久…一次,
  频次) a frequency (每月, 每季度, 每年2次, 按月, 两年一次), not a sum per month (每月1500元);
  a duration question (多久/多少个工作日/期限是多长) needs a span (6个月, 3—12个月, 二十年, 2年内,
  48小时), not a date (“3月” is a month);
- counts may be written in Chinese numerals (两次, 十项, 二十四小时);
- any — a year the question names must be the sentence's year.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from rag.duties import prose_duty, prose_unit  # noqa: F401  (prose_unit: its old home)
from rag.errors import BadQuestion
from rag.formal import formal
from rag.zh import fold

MAX_QUESTION_CHARS = 500
MAX_SENTENCE_CHARS = 1000  # a sentence is read this far for a value (real ones are < 300)

WHO = r"部门|单位|机构|机关|政府|银行|法院|组织|官员|法官"
# who is asked outright (谁, 哪个部门); a duty word alone (牵头, 负责人, 责任单位) may only name
# what the question is about (各责任单位什么时候报送, 项目负责人年龄上限是多少): a time or a
# quantity asked then wins
WHO_ASKED = re.compile(
    rf"谁|哪位|哪家|(?:哪|什么|甚么)(?:个|一个|一级|级|家)?(?:{WHO})|哪些(?:部门|单位)|归谁"
)
DUTY_WORDS = re.compile(r"牵头|负责|责任单位|责任部门|参与单位|参与部门|主管|担任")
INTENTS: list[tuple[str, re.Pattern[str]]] = [
    ("responsibility", WHO_ASKED),
    (
        "time",
        re.compile(
            r"何时|(?:什么|甚么)时[候间]|哪年|哪一年|几月|几号|几日|哪天|哪一天|哪几天|期限|截止"
            r"|多久|时间节点|多长(?![度宽高远])"
        ),
    ),
    # 哪几类 asks for the items, 十几岁 and 好几项 are no question: none is a count
    (
        "quantity",
        re.compile(
            r"多少|(?<![哪十好])几(?!十)|比例|百分之|占比|比率|数量|金额|多大|多高|达到.*[%率]"
        ),
    ),
]
# Words that say what kind of answer is wanted rather than what it is about.
INTENT_WORDS = frozenset("负责 牵头 参与 责任 主管 担任 比例 占比 数量 时候".split())
INTERROGATIVE = re.compile(r"哪|谁|什么|甚么|多少|几|怎么|怎样|如何|是否|吗")
ROLE = re.compile(
    r"第一书记|副书记|书记|副组长|组长|副总指挥|总指挥|指挥长|副召集人|召集人|主任|局长|部长"
    r"|负责人|站长|片长|网格长|队长|链长|主编|委员"
)
MEASURE = (
    "万元|亿元|港元|元|万亩|亩|公斤|吨|平方公里|平方米|㎡|m²|公顷|立方米|公里|千米|厘米|毫米|米|万人|人次|名|人|户|家"
    "|个|项|次|场|件|块|套|支|类|批|条|位|所|处|起|座|栋|辆|台|份|篇|部|幅|分|倍|天|小时|周岁|岁|%"
)
# “几个人” counts people (人), “几个省” counts in 个
ASKED_MEASURE = re.compile(rf"(?:多少|(?<!好)几)\s*(?:个\s*(?=[名人位户家]))?({MEASURE})")
# what else a sentence may count in: 名/人/位 all count people; 个 stands for the counter of a
# body, a place or a person (几个高新区 → 1家, 多少个名额 → 300名), not of items (项) or times
# (次); a thing's counter may be 个 (几家单位 → 9个); 个月 is a span, not a count
PEOPLE = "名|人|位"
THINGS = "家|所|处|座|栋|辆|台|份|篇|件|条|块|套|支|部"
BODY = r"个(?!\s*(?:月|工作日|小时|星期|百分点))"
ALIKE = {
    "个": f"{BODY}|家|所|处|座|户|{PEOPLE}",
    **{m: PEOPLE for m in PEOPLE.split("|")},
    **{m: f"{m}|{BODY}" for m in THINGS.split("|")},
    **{m: "平方米|㎡|m²" for m in ("平方米", "㎡", "m²")},
    **{m: "周岁|岁" for m in ("周岁", "岁")},  # 多少岁 is met by 四十周岁
}
MONEY = re.compile(
    r"资金|经费|预算|投资|工资|薪酬|报酬|金额|费用|补贴|补助|资助|奖补|津贴|奖金|奖励|罚款|收入|成本"
    r"|价格"
)
# money words the sentence itself need not name: any sum (金额), or a grant its heading or its
# lead-in names (创业带动就业奖补 › 每带动1人给予3000元; 下列补贴：（二）中度失能的，每月400元)
NOT_TOPICS = frozenset("金额 费用 补贴 补助 资助 奖补 津贴 奖励 罚款".split())
RATIO = re.compile(r"比例|百分之|占比|比率|配比|比值|之比|率")
# how a cost is split (县里和乡镇各出多少, 怎么分摊) is asked as a ratio (按7:3分担)
SPLIT = r"各(?:出|承担|负担|分担|付)|分摊|分担"
ASKED_RATIO = re.compile(rf"比例|百分之|占比|比率|配比|比值|之比|几成|{SPLIT}")
ORDINAL_ASKED = re.compile(r"第\s*(?:几|多少)\s*([\u4e00-\u9fff])")  # 第几级 asks for 第三级
SHARE = re.compile(r"的多少\s*[?？]?\s*$")  # 最低工资标准的多少: a share, or an amount
# 3.5, 1,200, 两, 二十四, 一百; a bare 百/千/万 is no count (百人课堂, 千家万户)
NUMBER = r"(?:\d[\d.,]*|[一二两三四五六七八九十][零〇一二两三四五六七八九十百千万]*)"
RATIO_FIGURE = re.compile(
    rf"\d[\d.]*\s*%|百分之|{NUMBER}\s*成(?![员本果立])|{NUMBER}分之{NUMBER}|\d+\s*[:：∶比]\s*\d+"
)
ASKED_DURATION = re.compile(
    r"多久|多长时间|期限多长|多长期限|(?:期限|时间|期|时长|年限)是?多长|多少年|(?<!哪)几年"
    r"|(?:多少|(?<![哪月])几)\s*个?\s*(?:工作日|天|日|周|星期|小时)|(?:多少|(?<!哪)几)\s*个\s*月"
)  # 哪几天 and 几月几日 ask for the days (a date), not how many
# a span of time: a small number (not a 4-digit year, not 第三) and a unit; “3月” is a date,
# “3个月” a span; 3—12个月 is a span too
SPAN = r"(?<![\d月第])(?:\d{1,3}|[一二两三四五六七八九十百半]+)\s*"  # not a year, not a 月X日 day
DURATION = re.compile(
    rf"{SPAN}(?:个\s*)?(?:工作日|小时|天|日|周(?![岁年])|星期)|{SPAN}(?:个\s*月|年(?![底初末度]))"
)  # 四十周岁 is an age, 三周年 an anniversary: not weeks
# what a bare 多长 asks: a span (3年) or a length (1.5米)
LONG = re.compile(
    rf"{DURATION.pattern}|(?<![\d.])\d[\d.]*\s*(?:米|公里|千米|厘米|毫米)|{SPAN}(?:米|公里|千米|厘米)"
)
# how often: “多久召开一次”, “隔多久报一次”, “频次” (not “一次最多能借多长时间”: once)
FREQUENCY = re.compile(
    r"(?:多久|多长时间|几年|多少年|几个月|多少天|几天)[^,;。?!，；？！]{0,12}?(?:一次(?!性)|一回)"
    r"|频次|频率|隔多久|隔多长|间隔多"
)
# a frequency as written: 每月, 每3个月, 每季度, 每年2次, 按月, 两年一次 (每月1500元 is a sum,
# 每月25日 a day, 按年龄 no period)
OFTEN = re.compile(
    r"每\s*隔?\s*(?:(?:\d{1,3}|[一二两三四五六七八九十半]+)\s*个?\s*)?"
    r"(?:年度|年|季度|季|个月|月|周|星期|旬|天|日|小时)(?!\s*\d(?!\d*\s*[次回]))"
    r"|按\s*(?:年度|年(?![龄限])|季度|季|月(?!份)|周|日|天|半年)"
    r"|(?:\d{1,3}|[一二两三四五六七八九十半]+)\s*个?\s*(?:年|季度|月|周|星期|天|日)\s*(?:一次|一回|1次)"
)
ASKED_DEADLINE = re.compile(r"完成|截止|之前|以前|前|时限|期限|到期|期满|最晚|最迟")
# a question asking for a day (哪天上线, 几号前发放) is not answered by a year or a month
ASKED_DAY = re.compile(r"哪天|哪一天|哪几天|哪日|何日|几号|几月几日|(?<![多少])几日(?!内)")
# a question asking when something starts (从哪天开始执行, 何时起施行, 什么时候生效)
ASKED_START = re.compile(r"(?:开始|起)?(?:施行|实施|执行|实行|生效)|起算|起计")
# a deadline may be relative: 届满3个月前, 收到之日起15日内
RELATIVE = re.compile(rf"(?:{DURATION.pattern})\s*(?:前|内|以内|之内)")
YEAR = re.compile(r"(?:19|20)\d{2}(?=\s*年)")
DAY = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"
# a figure that counts: not a year (2025年), a date (3月1日), an ordinal (第五) or an
# enumerator (1.)
FIGURE = re.compile(
    r"(?<![第\d.（(])(?<!\d,)(?<!\d月)(?!(?:19|20)\d{2}\s*年|\d{1,2}\s*月|\d{1,2}\s*[.．、)）](?!\d))\d"
    r"|(?<!第)[一二两三四五六七八九十百千万]+(?:个|项|次|名|家|场|支|类|大|级|批|条|位|人|户)"
)
# a date other than a bare year
DATED = (
    r"\d{4}[-/.]\d{1,2}|\d{1,2}\s*月|年底|年内|每年|每月|每季度|每半年|季度|\d+小时"
    rf"|(?:次|每|当|本|下|上)月\s*{DAY}|[一二三四五六七八九十]{{1,2}}月\s*{DAY}"
)
DATE = re.compile(rf"\d{{4}}\s*年|{DATED}")
# a year alone is a deadline only when it reads as one (到2025年, 2025年底前, 2025年完成), not
# in “将2016年实施的措施”
YEAR_DEADLINE = (
    r"(?:到|至|于|在|截至|截止|力争|争取|确保|前)\s*\d{4}\s*年"
    r"|\d{4}\s*年\s*(?:底|末|内|前|以前|之前|上半年|下半年|完成|建成|实现|基本|全面)"
)
DEADLINE = re.compile(f"{DATED}|{YEAR_DEADLINE}|{RELATIVE.pattern}")
# a relative deadline counted from a named day (之日起15日内, 届满3个月前), not 离校2年内
ANCHORED = rf"(?:之日|之时|届满|期满|到期|结束|日)(?:起|后)?计?的?\s*(?:{RELATIVE.pattern})"
# a date that names its day: 2006年1月1日, 11月20前, 次月十五日, 6月底; or an anchored deadline
DAY_DATE = re.compile(
    rf"\d{{1,2}}\s*月\s*(?:\d{{1,2}}(?:\s*[日号]|(?=\s*(?:前|以前|之前)))|{DAY}|底|末)"
    rf"|(?:次|每|当|本|下|上)月\s*{DAY}|[一二三四五六七八九十]{{1,2}}月\s*{DAY}"
    rf"|\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|{ANCHORED}"
)
# a date from which something holds: 自2025年1月1日起, 2024年3月1日起施行
START_DATE = (
    r"(?:自|从|于)\s*(?:{d})"
    r"|(?:(?:\d{{4}}\s*年\s*)?\d{{1,2}}\s*月\s*\d{{1,2}}\s*日|{d})\s*(?:起|开始|以来|施行|实施|执行|实行|生效)"
)


def clean_question(text: str) -> str:
    """Refuse empty and oversized questions before any work is done; the rest is ``visible``
    (possibly "" — then there is nothing to search for, and the asker is asked for more), in
    ``formal`` wording (特首 → 行政長官)."""
    if not isinstance(text, str) or not text.strip():
        raise BadQuestion("the question is empty: ask something like 谁负责医保跨省结算？")
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"the question has {len(text)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    return formal(visible(text))


def visible(text: str) -> str:
    """The text with control, format (bidi, zero-width, BOM) and lone-surrogate characters turned
    into spaces, stripped: what a reader sees, and what the text tools can encode.

    >>> visible("\\u202e谁负责\\x00医保？\\u200b "), visible("\\ud800\\x07")
    ('谁负责 医保？', '')
    """
    return "".join(" " if unicodedata.category(c) in INVISIBLE else c for c in text).strip()


INVISIBLE = frozenset({"Cc", "Cf", "Cs"})


def content_terms(terms: list[str]) -> list[str]:
    """The search terms that say what a question is about, not what kind of answer it wants.

    >>> content_terms(["负责", "医保", "哪个"])
    ['医保']
    """
    return [t for t in terms if t not in INTENT_WORDS and not INTERROGATIVE.search(t)]


def intent_of(question: str) -> str:
    """
    >>> intent_of("谁负责医保跨省结算？"), intent_of("化解欠薪糾紛多少件"), intent_of("何時完成")
    ('responsibility', 'quantity', 'time')
    >>> intent_of("牵头部门是哪个？"), intent_of("各责任单位什么时候报送进展？")
    ('responsibility', 'time')
    """
    folded = fold(question)
    asked = next((name for name, pattern in INTENTS if pattern.search(folded)), "general")
    return "responsibility" if asked == "general" and DUTY_WORDS.search(folded) else asked


@dataclass(frozen=True)
class Need:
    """What a supporting sentence must contain for this question."""

    intent: str
    pattern: re.Pattern[str] | None = None  # a figure (in the asked measure) or a date
    years: tuple[str, ...] = ()  # years the question names
    topics: tuple[str, ...] = ()  # money words or posts asked about; the sentence names one
    subject: str = ""  # what a figure is asked of (奖补, 手续费): the context must name it
    deadline: bool = False  # a “by when” question: an annotation's 完成时限 answers it too
    often: bool = False  # a “how often” question: 每月, 按季度, 两年一次 answer it
    # the shape asked, preferred among sentences that qualify but never required: a day for
    # 哪天, a deadline for 最晚, a start date for 从哪天执行, a frequency for 多久一次 (as hard
    # filters they refused 2024年3月1日起施行 for 什么时候开始施行, 每月5日前报送 for 多久报一次)
    prefer: re.Pattern[str] | None = None

    @classmethod
    def of(cls, question: str) -> Need:
        """
        >>> Need.of("专项资金是多少万元").met("", "安排专项资金300万元", False)
        True
        >>> Need.of("专项资金是多少万元").met("", "安排专项资金用于五大领域", False)
        False
        >>> Need.of("2025年满意度目标是多少").met("", "2023年,满意度达94%", False)
        False
        """
        folded = fold(question)
        intent = intent_of(question)
        years = tuple(YEAR.findall(folded))
        if FREQUENCY.search(folded) and intent != "responsibility":  # 多久召开一次, 频次是多少
            any_time = re.compile(f"{OFTEN.pattern}|{DATE.pattern}|{DURATION.pattern}")
            return cls("time", any_time, years, often=True, prefer=OFTEN)  # 每季度, 按月
        if ASKED_DURATION.search(folded):
            return cls("time", DURATION, years, subject=figure_subject(folded))
        if intent == "time" and _only_how_long(folded):  # 犬链最长多长: a length, or a span
            return cls(intent, LONG, years, subject=figure_subject(folded))
        if intent == "time":
            deadline = _by_when(folded)
            when = re.compile(f"{DATE.pattern}|{RELATIVE.pattern}") if deadline else DATE
            asked = _when(folded)
            prefer = re.compile(asked) if asked != DATE.pattern else None
            return cls(intent, when, years, deadline=deadline, prefer=prefer)
        if intent == "responsibility":
            return cls(intent, None, years, tuple(ROLE.findall(folded)))
        if intent != "quantity":
            return cls(intent, None, years)
        money = tuple(MONEY.findall(folded))
        topics = tuple(m for m in money if m not in NOT_TOPICS)  # any sum, or said in the heading
        need = cls._quantity(folded, years, money, topics)
        return replace(need, subject=figure_subject(folded))

    @classmethod
    def _quantity(cls, folded: str, years: tuple, money: tuple, topics: tuple) -> Need:
        """A quantity question's figure: an ordinal, a measure, a ratio, a sum or any count."""
        intent = "quantity"
        asked = ASKED_MEASURE.search(folded)
        if ordinal := ORDINAL_ASKED.search(folded):
            return cls(intent, re.compile(rf"第?\s*{NUMBER}\s*{ordinal.group(1)}"), years)
        if asked:
            measure = ALIKE.get(asked.group(1), re.escape(asked.group(1)))
        elif ASKED_RATIO.search(folded):  # 签约服务费的多少比例: a ratio, though about money
            return cls(intent, RATIO_FIGURE, years)
        elif money or "多少钱" in folded:
            measure = "元"
            if SHARE.search(folded):
                return cls(intent, re.compile(f"{RATIO_FIGURE.pattern}|{_amount(measure)}"), years)
        elif RATIO.search(folded):
            return cls(intent, RATIO_FIGURE, years)
        else:
            return cls(intent, FIGURE, years, topics)
        return cls(intent, re.compile(_amount(measure)), years, topics)

    def met(self, context: str, sentence: str, has_units: bool, deadline: str = "") -> bool:
        """Does a (folded) sentence qualify? ``context`` is its title + clause path + sentence;
        ``deadline`` is the 完成时限 of the annotation covering the sentence, if any.

        >>> Need.of("多少个工作日内答复").met("", "自收到申请之日起15个工作日内答复", False)
        True
        >>> Need.of("多少个工作日内答复").met("", "2025年6月前答复", False)
        False
        >>> Need.of("每年检查几次").met("", "每年至少开展两次检查", False)
        True
        >>> Need.of("什么时候完成").met("", "完成改造", True, deadline="2025年底")
        True
        """
        sentence = sentence[:MAX_SENTENCE_CHARS]  # some value patterns are quadratic on a run
        if self.years:  # a sentence dated otherwise is about another year, whatever its title
            where = sentence if YEAR.search(sentence) else context
            if not all(y in where for y in self.years):
                return False
        if self.topics and not any(_names(t, sentence) for t in self.topics):
            return False
        if self.intent == "responsibility":  # or the holder of the post asked about
            return has_units or bool(self.topics and prose_duty(sentence, self.topics))
        if self.deadline and deadline.strip():
            return True
        if self.subject and not _mentions(self.subject, f"{context} {sentence}"):
            return False  # a figure about something else (交通补贴 for 奖补)
        return self.pattern is None or bool(self.pattern.search(sentence))


def _only_how_long(folded: str) -> bool:
    """Is 多长 the only time word of the question — a length or a span may answer it?

    >>> [_only_how_long(q) for q in ("犬链最长可以多长", "多长时间内办结", "何时办结")]
    [True, False, False]
    """
    rest = folded.replace("多长", "")
    return "多长" in folded and not ASKED_DURATION.search(folded) and not INTENTS[1][1].search(rest)


def _by_when(folded: str) -> bool:
    """Does a time question ask by when (截止, 最晚, 之前)?"""
    return bool(ASKED_DEADLINE.search(folded))


def _when(folded: str) -> str:
    """The dates that answer a time question: one naming its day for 哪天/几号, a deadline (not a
    bare year) for 最晚/截止, one things start from for 从哪天开始执行; any date otherwise.

    >>> day = re.compile(_when("哪天上线的"))
    >>> bool(day.search("于2006年1月1日正式开通")), bool(day.search("2006年启动"))
    (True, False)
    >>> due = re.compile(_when("最晚什么时候交"))
    >>> bool(due.search("到2018年全面完成")), bool(due.search("将2016年实施的措施调整"))
    (True, False)
    >>> start = re.compile(_when("从哪天开始执行"))
    >>> bool(start.search("均从2025年1月1日起执行")), bool(start.search("报送时间为2025年1月1日"))
    (True, False)
    """
    if ASKED_DAY.search(folded):
        when = DAY_DATE.pattern
    elif _by_when(folded):
        return DEADLINE.pattern
    else:
        when = DATE.pattern
    return START_DATE.format(d=when) if ASKED_START.search(folded) else when


def _amount(measure: str) -> str:
    """A figure counted in ``measure`` (alternatives allowed): not the tail of a longer number,
    not an ordinal (第五次).

    >>> people, times = re.compile(_amount("名|人|位")), re.compile(_amount("次"))
    >>> bool(people.search("不低于4.66人")), bool(times.search("第五次"))
    (True, False)
    """
    return (
        rf"(?<![第\d.零〇一二两三四五六七八九十百千万])(?<!\d,){NUMBER}"
        rf"\s*(?:余|多)?\s*(?:万|亿)?\s*(?:余|多)?\s*(?:{measure})"
    )


def _names(topic: str, sentence: str) -> bool:
    """Does the sentence name the topic — a post itself, not its deputy (副组长 is no 组长)?

    >>> _names("组长", "由区长任组长"), _names("组长", "副组长由甲局局长担任")
    (True, False)
    """
    own = topic if topic.startswith("副") else f"(?<!副){re.escape(topic)}"
    return bool(re.search(own, sentence))


# 多少元的手续费 / 多少元奖补: a sum asked of the noun after it (a counted thing after 几名 is
# what the measure already says: 几名医生 → 4.66人)
MONEY_SLOT = re.compile(
    r"(?:多少|(?<![哪十])几(?!十))\s*(?:万元|亿元|元|钱)\s*的?\s*"
    r"(?!才|能|可|就|以|内|后|前|左右)([\u4e00-\u9fff]{2,6})\s*[?？。!！]?\s*$"
)  # not a verb phrase (多少元才能申请)
# 收费标准是多少元 / 有效期是几年: a figure asked of the noun before the copula
# (建筑密度上限定为多少); not when a counter follows — 目标是多少个 counts what the 个 stands for,
# 年龄是多少岁 an age
COPULA_SLOT = re.compile(
    r"([\u4e00-\u9fff]{2,}?)(?:定|设|设定|确定|规定|核定)?(?:是|为)(?:多少|(?<![哪十])几(?!十))"
    rf"(?!\s*(?:个(?!\s*(?:工作日|月))|{PEOPLE}|{THINGS}|户|项|次|场|类|批|周?岁))"
)
# words around a subject that say nothing of what it is (具体金额, 最高收费标准, 每人每月)
VAGUE = re.compile(
    r"(?:的|具体|最高|最低|标准值|标准|金额|数额|额度|数量|总额|上限|下限|时限|期限|比例|占比"
    r"|比率|每人|每月|每年|每次|每户|法定|一般|大约|大概|一共|总共|目标|任务|要求|水平)+$"
)


def figure_subject(folded: str) -> str:
    """The key term of what a figure question asks about — the noun after a sum (多少元奖补 →
    奖补) or before 是多少 (收费标准是多少元 → 最高收费) — as its head: the last three characters,
    of which a sentence must name two in a row (``_mentions``). "" when the question names none.

    >>> figure_subject("每人可领多少元奖补？"), figure_subject("办证要交多少元的手续费？")
    ('奖补', '手续费')
    >>> figure_subject("理发的最高收费标准是多少元？"), figure_subject("建筑密度上限定为多少")
    ('高收费', '筑密度')
    >>> figure_subject("每万人配几名医生"), figure_subject("具体金额是多少元")
    ('', '')
    """
    found = MONEY_SLOT.search(folded) or COPULA_SLOT.search(folded)
    phrase = VAGUE.sub("", found.group(1)) if found else ""
    return "" if len(phrase) < 2 or INTERROGATIVE.search(phrase) else phrase[-3:]


def _mentions(subject: str, text: str) -> bool:
    """Does the text name two characters of the subject in a row (生活费 → 生活标准)?

    >>> _mentions("生活费", "基本生活标准"), _mentions("手续费", "救助标准120元")
    (True, False)
    """
    return any(subject[i : i + 2] in text for i in range(len(subject) - 1))
