"""Who does what, read from prose: a small grammar for documents without responsibility tables.

Annotations (“（责任单位：…）”) are read by ``rag.annotations``; most laws, rules and opinions
state duties in sentences instead. The grammar, on one clause (split at 。；):

- a **unit**: a name ending in a closed set of agency heads (部, 委, 局, 厅, 办, 办公室, 署,
  总局, 委员会, (人民)政府, (主管/行政)部门, 中心, 银行, 公司, 院, 会, 联席会议, 领导小组,
  街道办事处, 机关, 机构, 单位, 镇, 街…; not 经办, 社会), optionally with a bracketed alias
  (镇人民政府（街道办事处）), or a place (市/区/县/省/镇/各区…; not 市场, 区域) followed by a
  sector (区财政, 市民政). Names listed with 、 may share the last one's head (市场监督管理、
  社会组织管理和相关部门; 区民政、财政部门): the list is one unit, as written. A name never
  starts with a preposition or a verb of policy (以, 向, 报, 鼓励, 加强…) nor runs through a
  modal (应当, 须, 可以, 向, 报…). Nothing depends on the names of any document's units;
- a **duty**: units + (应当/须/具体/分别/按职责分工/作为…) + a verb of duty — 负责/牵头/会同/
  承担/主管/组织/统筹/监管, or one of the acts a unit is charged with (审核/审批/批准/核实/认定/
  公布/发布/制定/拟订/编制/落实/处理/受理/办理/确认/任命/监督/指导/协调/做好…); “负责人”,
  “负责同志” are posts, not duties. Also “X是/为/作为…主管部门/牵头单位/责任主体/主体”,
  “由X（自主/具体/依法/另行）+ verb” (由X另行规定, 由X报…批准), “X在…过程中发现…的，依法处理”,
  and, for a person or office that no unit head names, “由X确认/批准/审批/任命”. A subject
  starts a clause (after an enumerator: （11）, 3., 一、, 第五条) or follows a comma;
- **deciders and receivers**, read only when no subject holds a duty: “经X批准/同意/审核” (X
  decides) and “向X报告/申请/提交/报送/申报” (X receives; also the holder of an office of a
  named unit: 向…终审法院首席法官申报, not 向单位负责人): they answer “由谁批准”, “交给哪个机构”;
- **leads and participants**: units listed together as the subject of one duty all lead
  (“X、Y要做好综合协调”, “X、Y按职责分工负责”), as the annotation grammar reads “X、Y负责”;
  participants are the units joining them: “X会同Y…” (also 牵头会Y: 会 for 会同),
  “X牵头，Y配合/参与/协助”, “X负责…，Y配合…”;
- **posts**: the holder of a post (“总指挥：X主要负责人”, “组长由X担任”, “由X院士任主任”) is read
  only for the posts a question asks about (``posts=``), and a deputy (副总指挥) is no holder of
  the post (总指挥); a post or person alone (负责人, 工作人员) is never a unit;
- **kind**: ``unit`` (a recognised agency), ``generic`` (有关单位/相关部门: a duty, but it names no
  one), ``other`` (a person or body without an agency head: 执业律师, 幼儿园, 行政长官),
  ``interpretation`` (“本办法由X负责解释”: X is answerable for what the text means, a real duty
  but only of interpretation) and ``post`` (the holder of a post asked about). The answer stage
  may weigh generic, other and interpretation lower;
- **what a question asks** (``asked``): the act it asks who does (由哪个部门审核 → 审核; none for
  负责/主管/管, who is in charge) and whether it wants a unit (哪个部门). A duty answers only a
  question of its own act (it shares a character of it: 审核 → 审查核实, 定 → 另行规定), and a
  person (国务院领导同志) no question asking which unit.

The forms fitted to the bundled documents (“发挥X的牵头作用”, “X任第一书记”) stay as a fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.zh import fold

# the head a name ends in; a shorter head never ends a longer one (人民政府 is not 人民 + 政府),
# so a name is read one way only: a long list of units cannot make the matcher backtrack
# exponentially
HEADS = (
    "人民政府|街道办事处|联席会议|领导小组|委员会|办公室|主管部门|行政部门|(?<!主管)(?<!行政)部门"
    "|(?<!人民)政府|总局|中心|机关|机构|单位|银行|公司|集团|部|委|(?<!总)局|厅|署|院|镇|街"
    "|(?<![经承主协督举创开兴代交查申筹])办|(?<![社机大都])(?<!委员)会"  # not 经办, 社会
)
PLACE = (
    r"(?:国务院|中央|全国|各省级|各级|各省|各区|各市|各县|各镇|省级|市级|县级|区级|自治区|直辖市|自治州"
    r"|设区的市|区县|省|市(?!场)|区(?!域)|县|镇|乡|街道)(?:[（(][\u4e00-\u9fff]{1,4}[）)])?"
)
# a sector (财政, 人力资源社会保障, 城市管理综合执法) never ends in a head: “市民政部门” is read one
# way only, so a long list of units cannot make the matcher backtrack exponentially
SECTOR = (  # nor holds a head of its own inside (市医保局联合 is no sector)
    r"(?:(?![局厅署委])[\u4e00-\u9fff]){2,8}?"
    + "".join(
        f"(?<!{head})"
        for head in ("部门", "政府", "中心", "机关", "机构", "单位", "银行", "公司", "集团")
    )
    + "(?<![部委局厅署院镇街办会室议组处])"
)
ALIAS = r"(?:[（(][^（）()，,。；;]{1,10}[）)])?"
# a name's characters (区县（市）), never a modal or a duty word: “区民政部门应当自收到镇人民政府
# 意见…审核” names 区民政部门, not all that
NAME = (  # nor a 和 that joins two units (市财政局和市民政局), so a list reads one way only
    r"(?:(?!应当|应该|必须|须|可以|可在|可向|主要|承担|负责(?!人)|牵头|会同|按照|依照|根据|通过|将"
    rf"|向|经(?!济|办|营|贸)|要(?!素)|以(?![上下])|(?<!所)在|[和及与](?:{PLACE}|国家)"
    r"|(?<![情日晚画学周])报(?![社业刊]))"  # 报同级人民政府批准: X hands on, not in the name
    r"(?:[^\s，,。；;：:、（）()“”\"]|[（(][\u4e00-\u9fff]{1,4}[）)]))"
)
# a name never starts with a preposition or a verb of policy (以国家统计局公布, 鼓励地方政府…)
NOT_A_NAME = (
    r"(?!以|在|对(?!外)|向|由|经(?!济)|自(?!然|治|贸)|从|将|按|为|于|把|被|并|及时|是指|报|提名"
    r"|加强|鼓励|支持|引导|推动|推进|指导|组织(?!部)|要求|督促|建立|完善|发挥)"
)
NEXT = (
    r"(?=[、和及与]|应|要|须|具体|分别|负责|牵头|配合|参与|协助|协同|会同|承担|主管(?!部门)|组织|统筹"
    r"|是|作为|拟订|拟定)"
)
# a name before 、 that leaves its head to the last of a list sharing it: 市场监督管理、社会组织
# 管理和相关部门 (a place-led sector is read by PLACE SECTOR instead: one reading only)
SHARING = rf"(?!{PLACE}){SECTOR}(?<![省市区县镇乡])(?=、)"  # not 撤销省、…
UNIT = rf"(?:{NAME}{{0,24}}?(?:{HEADS}){ALIAS}|{PLACE}{SECTOR}{NEXT}|{PLACE}(?=[、和])|{SHARING})"
SEP = rf"(?:、|[和及与](?={PLACE}|国家))"  # 经济和信息化 is one name, 国家能源局和省级… two
UNITS = rf"{NOT_A_NAME}{UNIT}(?:{SEP}{UNIT}){{0,20}}"  # a longer list is no one's duty list
ADVERB = (
    r"(?:应当|应|必须|须|需要|需|要|将|可以|切实|依法|具体|主要|分别|统一|共同|全面|按照?职责分工"
    r"|在职责范围内[，,]?"
    r"|作为[^，,。；;]{1,20}[，,]?|自[^，,。；;]{1,20}?之日起[^，,。；;]{0,8}?内?)*"
)
DUTY = r"负责(?!人|同志|科室)"  # 负责人, 负责同志 are posts
# verbs of a duty whose subject is the unit that holds it (审核, 批准: the unit decides)
ACTS = (
    r"(?:审核|审批|审查|批准|核准|核实|核定|认定|公布|发布|制定|制订|编制|落实|处理|受理|办理|担任"
    r"|监督|指导|协调|做好|抓好|履行|拟订|拟定|确认|任命|任免|委任"
    r")(?!意见|结果|材料|结论|决定|程序)"  # 审核意见 is a thing, not an act
)
ORGANISES = r"组织(?=实施|开展|编制|制定|协调|落实|指导|推动|做好)"  # not 社会组织
VERB = rf"(?:{DUTY}|牵头|会同|承担|主管(?!部门)|{ORGANISES}|统筹|监管|{ACTS})"
GENERIC = re.compile(r"^(?:各|其他)?(?:有关|相关|其他|其它)?(?:单位|部门|方面|机构)$")
# where a subject may start: a clause start (after an enumerator such as （11） or 3.) or a comma
ORDINAL = r"[\d一二三四五六七八九十]{1,3}"
ENUMERATOR = rf"(?:[（(]\s*{ORDINAL}\s*[）)]|{ORDINAL}\s*[.．、](?!\d))"
START = rf"(?:^\s*(?:{ENUMERATOR}\s*)?|[，,：:\s])"
SUBJECT_DUTY = re.compile(rf"{START}(?P<who>{UNITS}){ADVERB}{VERB}")
IS_IN_CHARGE = re.compile(
    rf"{START}(?P<who>{UNITS})(?:是|为|作为)[^，,。；;]{{0,30}}"
    r"(?:主管部门|责任主体|实施机构|管理机构|牵头单位|牵头部门|主体)"
)
BY = re.compile(
    rf"由(?P<who>{UNITS})(?:自主|具体|共同|统一|依法|另行)?"
    rf"(?P<verb>负责解释|{DUTY}|牵头|会同|承担|组织|确定|实施|监管|(?:另行)?规定|报|{ACTS})"
)
# “X在履行职责过程中发现…的，依法依规进行处理”: the subject, a circumstance, then the act
WHEN = re.compile(
    rf"{START}(?P<who>{UNITS}){ADVERB}在[^，,。；;]{{1,30}}?(?:过程中|中|时)[^。；;]{{0,40}}?[，,]"
    rf"(?:依法依规|依法|及时|并|应当|应)*(?:进行|予以)?(?:处理|查处|处置|{ACTS})"
)
# the unit that decides (经X批准) or receives (向X报告): it answers “由谁批准”, “交给哪个机构”
APPROVED = re.compile(
    rf"经(?P<who>{UNITS})(?:依法)?(?:审核|审批|审查|批准|核准|同意|认定|确认|备案)"
)
# the holder of an office of a named unit may receive (向…终审法院首席法官申报); 单位负责人,
# 有关部门负责人 name no one
OFFICE = r"(?:主要|分管)?(?:首席)?(?:负责人|法官|检察官|[局处厅部院署]长|主任|书记)"
RECEIVER = re.compile(
    rf"向(?P<who>{UNITS})(?P<office>{OFFICE})?(?:专题|书面|及时|如实|逐级|定期|依法)?"
    r"(?:报告|申请|提交|报送|申报|提出|备案|投诉|举报|反映)"
)
ANYONE = re.compile(  # not “对…负责” (answerable for), not “…的” (a description)
    rf"{START}(?P<who>(?![对向为在])(?:(?!由)[\u4e00-\u9fff]){{2,12}}?)(?<!的){ADVERB}{DUTY}"
)
# “须由行政长官确认”: a person or office that decides, read when no unit holds a duty
BY_ANYONE = re.compile(
    r"由(?P<who>(?![其对向为在本于])(?:(?![的被而不将对向在])[\u4e00-\u9fff]){1,11}?"
    r"(?:长|官|员|主席|指挥|主任|书记|负责人|委员会|会|局|处|部|院|厅|署|办|委|政府|机关|法院|检察院))"
    r"(?:确认|批准|审批|核准|审核|签发|任命|委任)(?!部门|机关|机构|单位|人员|工作|结果)"
)  # an office decides; 由系统自动确认, 由申请人本人确认 name no one who answers 由谁
HELPERS = re.compile(rf"(?:^|[，,、])(?P<who>{UNITS}){ADVERB}(?:配合|参与|协助|协同)")
ALONGSIDE = re.compile(rf"(?:会同|(?<=牵头)会(?![议商签审同]))(?P<who>{UNITS})")  # 牵头会: 会同
# who holds a post the question asks about (总指挥：X主要负责人; 由X院士担任组长)
HOLDER = (
    rf"(?:{NAME}{{1,20}}?(?:主要|分管)?(?:负责人|负责同志|领导同志|院士|秘书长|书记|主任|长)"
    rf"|{UNIT})"
)
HEAD_END = re.compile(rf"(?:{HEADS}){ALIAS}$")
PLACE_START = re.compile(rf"^{PLACE}")
LEGACY_ORG = (
    r"(?:办公室|服务站|中心|委员会|领导小组|小组|局|办|委|部|站|所|(?<!社)会|组|室|队|院|处"
    r"|单位|公司|集团)"
)
ROLE = r"第一书记|副书记|书记|副组长|组长|主任|局长|部长|站长|片长|网格长|队长|链长"
LEGACY = [  # forms of the bundled documents, read when the grammar finds nothing
    re.compile(
        r"由(?P<who>[^，,。；;由]{2,40}?)(?:共同|具体)?"
        r"(?:负责(?!人|同志)|牵头|承担|落实|组织|统筹|担任|兼任|任|认领)"
    ),
    re.compile(r"(?:^|[，,。；;])(?P<who>[^，,。；;]{2,60}?)(?:定期)?牵头"),
    re.compile(
        rf"发挥(?P<who>[^，,。；;]{{2,30}}?{LEGACY_ORG})(?:的)?(?:牵头|统筹|协调|主导|指导)"
    ),
    re.compile(
        rf"^(?P<who>[^，,。；;]{{2,30}}?{LEGACY_ORG})(?:为|向|对|组织|开展|举行|负责(?!人)|推动)"
    ),
    re.compile(
        rf"(?:^|[，,。；;])(?P<who>[^，,。；;]{{2,20}}?)(?:担任|任)[^，,。；;]{{0,6}}?(?:{ROLE})"
    ),
]


# Duties are stated in sentences of a few dozen characters (the longest in the dev corpus has
# 223); a longer run — garbled or hostile text — is read in its first 400, so the work per
# sentence stays bounded.
MAX_SENTENCE = 400


@dataclass(frozen=True)
class Duty:
    """Who leads a duty stated in prose, who takes part, and how sure the reading is. Units
    listed together as the subject of one duty (“X、Y要做好综合协调”) all lead: ``lead`` is the
    first, ``co_leads`` the others (as the annotation grammar reads “X、Y负责”)."""

    lead: str
    participants: tuple[str, ...] = ()
    kind: str = "unit"  # unit | generic | other | interpretation | post
    co_leads: tuple[str, ...] = ()

    @property
    def leads(self) -> tuple[str, ...]:
        return (self.lead, *self.co_leads)


def split_units(span: str) -> list[str]:
    """The units of a listed span, as written.

    >>> split_units("市民政部门、市残联")
    ['市民政部门', '市残联']
    >>> split_units("市、区民政部门"), split_units("国家能源局和省级能源主管部门")
    (['市、区民政部门'], ['国家能源局', '省级能源主管部门'])
    >>> split_units("市场监督管理、社会组织管理和相关部门")  # one head shared
    ['市场监督管理、社会组织管理和相关部门']
    >>> split_units("市民政、财政部门"), split_units("市财政局、市残联")
    (['市民政、财政部门'], ['市财政局', '市残联'])
    """
    parts = re.split(rf"({SEP})", span)
    units: list[str] = []
    glue = ""  # bare places (市、区…) and headless names belong to the name that follows them
    for i in range(0, len(parts), 2):
        part = parts[i]
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        after = parts[i + 2] if i + 2 < len(parts) else ""
        headless = sep == "、" and not HEAD_END.search(part) and not PLACE_START.match(after)
        if sep and (re.fullmatch(rf"{PLACE}+", part) or headless):
            glue += part + sep
        elif part:
            units.append(glue + part)
            glue = ""
    return units


def kind_of(unit: str) -> str:
    """
    >>> kind_of("国务院卫生主管部门"), kind_of("有关单位"), kind_of("执业律师"), kind_of("区财政")
    ('unit', 'generic', 'other', 'unit')
    """
    if GENERIC.match(unit):
        return "generic"
    if HEAD_END.search(unit) or PLACE_START.match(unit):
        return "unit"
    return "other"


def prose_duty(sentence: str, posts: tuple[str, ...] = ()) -> Duty | None:
    """The duty a sentence states in prose, names as written; None if it states none. ``posts``
    are the posts a question asks about (组长, 总指挥): their holders count only then.

    >>> prose_duty("第五条　国务院甲行政部门负责全国的乙管理工作。")
    Duty(lead='国务院甲行政部门', participants=(), kind='unit', co_leads=())
    >>> prose_duty("甲委、乙办要做好综合协调。").leads  # listed together, both lead
    ('甲委', '乙办')
    >>> prose_duty("市民政部门牵头，市财政局、市残联配合。").participants
    ('市财政局', '市残联')
    >>> prose_duty("总指挥：国家发展改革委主要负责人") is None
    True
    >>> prose_duty("总指挥：国家发展改革委主要负责人", posts=("总指挥",)).lead
    '国家发展改革委主要负责人'
    """
    sentence = sentence[:MAX_SENTENCE]
    folded = fold(sentence)
    if posts and (held := _post_holders(folded, posts)):
        names = [_as_written(sentence, folded, 0, folded, n) for n in held]
        return Duty(names[0], tuple(names[1:]), "post")
    for clause_start, clause in _clauses(folded):
        found = _grammar(clause)
        if found:
            leads, kind = found
            leads = [_as_written(sentence, folded, clause_start, clause, u) for u in leads]
            names = [
                _as_written(sentence, folded, clause_start, clause, p)
                for p in _participants(clause)
            ]
            names = [n for n in dict.fromkeys(names) if n not in leads]
            return Duty(leads[0], tuple(names), kind, tuple(dict.fromkeys(leads[1:])))
    for pattern in LEGACY:
        m = pattern.search(folded)
        if m and re.match(NOT_A_NAME, m.group("who").strip()):  # not 鼓励社会…
            trimmed = _trim(m.group("who"))  # no article number (第三十三条 X…)
            end = m.end("who") - (len(m.group("who")) - len(m.group("who").rstrip()))
            who = sentence[end - len(trimmed) : end]
            return Duty(who, (), kind_of(fold(who)))
    return None


@dataclass(frozen=True)
class Asked:
    """What a responsibility question asks of the one who answers it (``asked``): the act it
    does (审核; "" for any duty) and whether it must be a unit (哪个部门), not a person."""

    act: str = ""
    unit: bool = False


def prose_unit(sentence: str, posts: tuple[str, ...] = (), wanted: Asked = Asked()) -> str | None:
    """The lead unit a sentence names in prose, as written (what the answer stage shows);
    ``wanted`` is what the question asks (``asked``): a unit charged with another act, or a
    person where it asks for a unit, does not answer it.

    >>> prose_unit("村企结对的相关经费由结对单位落实解决。")
    '结对单位'
    >>> prose_unit("链长任党委第一书记。")
    '链长'
    >>> prose_unit("甲局要会同乙会完善监管制度。", wanted=Asked("拟订")) is None
    True
    >>> prose_unit("工作由区领导同志牵头负责。", wanted=Asked(unit=True)) is None
    True
    >>> prose_unit("工作由区领导同志牵头负责。", wanted=Asked())
    '区领导同志'
    >>> prose_unit("授权须由保安局局长批准。", wanted=Asked(unit=True))
    '保安局局长'

    """
    duty = prose_duty(sentence, posts)
    if duty is None or not does_act(sentence, duty, wanted.act):
        return None
    lead = fold(duty.lead)
    if wanted.unit and duty.kind != "post" and PERSON.search(lead) and not HEAD_POST.search(lead):
        return None
    return duty.lead


# a person or the holder of a post (国务院领导同志, 甲局主要负责人, 区长), not a unit
PERSON = re.compile(r"(?:同志|负责人|院士|书记|主任|(?<![单部])长|官|人士)$")
# the head of a named unit (保安局局长, 海关关长, 警务处处长) speaks for it: a 哪个部门 question
# takes the answer rather than refusing it
HEAD_POST = re.compile(r"[局处厅部委署院关司办]\s*[局处厅部署院关司]?长$")
ASKS_UNIT = re.compile(r"(?:哪个|哪些|哪家|哪一?|什么)(?:部门|单位|机构|机关|局|委|办)")


def asked(question: str) -> Asked:
    """What a question asks of who answers it.

    >>> asked("牵头单位是哪个部门？"), asked("由谁审核？")
    (Asked(act='', unit=True), Asked(act='审核', unit=False))
    """
    return Asked(asked_act(question), bool(ASKS_UNIT.search(fold(question))))


# who a question asks for (由哪个部门, 谁, 找哪家机构), then the act it asks about (审核, 牵头拟订)
ASKED_WHO = (
    r"(?:谁|哪(?:个|些|家|一|位|级|里)?[\u4e00-\u9fff]{0,6}?"
    r"(?:部门|单位|机构|机关|局|委|办|领导|人|方面|法官|层级))"
)
ASKED_ACT = re.compile(
    rf"{ASKED_WHO}(?:来|去|总|具体|进行|要|能|可以|应当|应|统一|一起)*"
    r"(?P<act>(?:(?![谁哪])[\u4e00-\u9fff]){0,4})"
)
# asking who is in charge of something (负责X, 主管X, 担任X) or no act at all: any duty answers
IN_CHARGE = re.compile(
    r"^(?:负责|主管|管理|管|抓|搞|做|干|承担|担任|兼任|任|落实|是|的|有|在|身上|那|这|呢|吗|$)"
)
LEADS_IN = re.compile(r"^(?:牵头|组织|会同)")  # 牵头拟订: the act is 拟订


def asked_act(question: str) -> str:
    """The acts a question asks who does, when each is one that not every duty answers
    (审核, 拟订, 发): "" when one asks who is in charge (负责, 主管, 管理) or names no act.

    >>> asked_act("经济状况由哪个部门审核？"), asked_act("制度由哪个部门牵头拟订，会同哪些单位？")
    ('审核', '拟订')
    >>> asked_act("谁负责医保结算？"), asked_act("归哪个局管？"), asked_act("牵头单位是哪个部门？")
    ('', '', '')
    >>> asked_act("补助由谁批准、由谁发？"), asked_act("土地属于谁所有？由谁管理？")
    ('批准发', '')
    """
    acts = []
    for m in ASKED_ACT.finditer(fold(question)):
        if not m.group("act"):  # 会同哪些单位？: the act is asked of the first
            continue
        act = re.sub("[的了呢吗]+$", "", LEADS_IN.sub("", m.group("act")))
        if IN_CHARGE.match(act):
            return ""
        acts.append(act)
    return "".join(acts)


def does_act(sentence: str, duty: Duty, act: str) -> bool:
    """Is the duty the sentence gives (after its lead unit) one of the asked act? It shares a
    character of it (审核 → 审查核实, 定办法 → 另行规定); any duty does when no act is asked.

    >>> d = prose_duty("民政部门负责审查核实申请家庭的经济状况。")
    >>> does_act("民政部门负责审查核实申请家庭的经济状况。", d, "审核")
    True
    >>> does_act("民政部门负责审查核实申请家庭的经济状况。", d, "发放")
    False
    """
    if not act or duty.kind == "post":
        return True
    folded = fold(sentence)
    at = folded.find(fold(duty.lead))
    after = folded[at + len(duty.lead) :] if at >= 0 else folded
    return any(ch in after for ch in act)


def _post_holders(folded: str, posts: tuple[str, ...]) -> list[str]:
    """Who holds one of ``posts`` (not its deputy: 副总指挥 is no 总指挥), as listed units.

    >>> _post_holders("组长由区长担任,副组长由甲局主要负责人担任", ("副组长",))
    ['甲局主要负责人']
    """
    for post in posts:
        own = rf"(?<!副){re.escape(post)}" if not post.startswith("副") else re.escape(post)
        listed = rf"(?P<who>{HOLDER}(?:[、和]{HOLDER})*)"
        for form in (
            rf"{own}\s*[：:]\s*{listed}",
            rf"{own}[^。；;由]{{0,8}}由{listed}(?:兼任|担任|出任)",
            rf"由{listed}(?:兼任|担任|出任|任)[^，,。；;]{{0,8}}?{own}",
        ):
            m = re.search(form, folded)
            if m:
                return [u for u in re.split("[、和]", m.group("who")) if u]
    return []


def _clauses(folded: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for part in re.split(r"(?<=[。；;])", folded):
        if part.strip():
            out.append((start, part))
        start += len(part)
    return out


def _grammar(clause: str) -> tuple[list[str], str] | None:
    """(the units that lead, kind) of the first duty form the clause matches."""
    hits = []
    for pattern in (BY, SUBJECT_DUTY, IS_IN_CHARGE, WHEN):
        m = pattern.search(clause)
        if m:
            hits.append((m.start("who"), m))
    if not hits:  # a subject without an agency head: a person, a school — kept, as “other”
        m = ANYONE.search(clause) or BY_ANYONE.search(clause)
        if m:
            return [_trim(m.group("who"))], kind_of(_trim(m.group("who")))
        # no subject holds a duty: the unit that approves (经X批准) or receives (向X报告)
        m = APPROVED.search(clause) or RECEIVER.search(clause)
        if not m:
            return None
        units = split_units(_trim(m.group("who")))
        if m.groupdict().get("office"):  # the office of one named unit (not 单位负责人)
            if len(units) > 1 or kind_of(units[0]) != "unit":
                return None
            return [units[0] + m.group("office")], "other"  # a person: no agency head
        return units, kind_of(units[0])
    m = min(hits, key=lambda h: h[0])[1]
    by = BY.search(clause)  # “本办法由X负责解释”: the span before 由 is the object, X the subject
    if by and by.start("who") < m.end("who"):
        m = by
    units = split_units(_trim(m.group("who")))
    kind = kind_of(units[0])
    if "verb" in m.groupdict() and m.group("verb") == "负责解释":
        kind = "interpretation"
    return units, kind


def _participants(clause: str) -> list[str]:
    found = []
    for pattern in (ALONGSIDE, HELPERS):
        for m in pattern.finditer(clause):
            found += split_units(_trim(m.group("who")))
    return found


def _trim(span: str) -> str:
    """Drop an article number (第五条), a leading 由/经 or 发挥 from a subject span."""
    return re.sub(
        r"^(?:第[一二三四五六七八九十百零〇\d]+条\s*|[由经]\s*|(?:充分)?发挥)", "", span.strip()
    )


def _as_written(sentence: str, folded: str, clause_start: int, clause: str, name: str) -> str:
    """The name as the sentence writes it (folding keeps length, so offsets carry over)."""
    at = clause.find(name)
    if at < 0 or len(folded) != len(sentence):
        return name
    return sentence[clause_start + at : clause_start + at + len(name)]
