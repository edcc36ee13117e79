"""The kind of items a listing question asks for, and whether an enumeration is of that kind.

“哪几类中心”, “哪些场所”, “哪些省市” name what the items are; a sentence enumerating something
else (研发机构 for 中心, 展会 for 场所) does not answer, however many words it shares with the
question. An item is of the asked kind when it ends with the kind's word (加工制造中心 for 中心)
or, for the kinds below, with a word of that class (景区景点 and 宾馆饭店 are 场所, 北京 a 城市);
an enumeration may also declare its kind itself (“A、B、C等途径”, “提供下列材料：”).

Pure functions of the question and the sentence; ``rag.short`` cuts the items, this module
judges them (``tests/test_items.py``).
"""

from __future__ import annotations

import re

from rag.zh import fold

# the province-level divisions, written as they are in running text without 省/市
PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南"
    "|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# kind words that name the same kind, and the endings of the items of that kind (not the words
# that merely end alike: 条件 is no 证件, 卫生 no 学生)
KINDS: tuple[tuple[str, str], ...] = (
    (  # places
        "场所|地点|场地|地方|地段|区域|阵地",
        "区|点|店|馆|场|站|园|中心|所|院|厅|室|街|社区|市场|超市|基地|窗口|港|口岸|会所|广场",
    ),
    (  # regions
        "省市|省份|城市|地区|省区|市县|区县|地市|县市|省区市",
        rf"省|市|区|县|州|盟|旗|镇|乡|(?:{PROVINCES})",
    ),
    (  # bodies (哪些部门/单位 asks who is responsible, not a list: ``rag.question``)
        "机构|组织|主体|院校|学校|高校|企业|机关",
        "机构|院|所|校|大学|学院|医院|总部|单位|企业|公司|中心|银行|协会|学会|商会|组织|集团"
        "|社|机关|基金会",
    ),
    ("等级|级别|档次|层级|档|级", "级|档|等|星"),  # levels
    (  # papers
        "材料|资料|证明|证件|文件|凭证|证书|手续",
        "证|书|(?<![条事案])件|(?<!代)表|单|照|(?<![成资基根])本|卡|函|材料|簿|报告|协议|合同|发票"
        "|凭证|记录|照片|证明|说明",
    ),
    ("费用|费|开支|支出", "费|金|款|开支|支出"),  # costs: 床位费、护理费
    (  # ways
        "方式|途径|渠道|办法|形式|手段|方法|联系方式|模式",
        "信箱|热线|电话|网站|平台|客户端|app|公众号|小程序|窗口|邮箱|邮件|信函|传真|来访|网络"
        "|方式|途径|渠道|模式|形式",
    ),
    (  # people
        "人|人员|人群|对象|群体|人才|家庭|毕业生|学生|老人",
        "人|者|员|学生|毕业生|研究生|考生|(?<![开落账])户|士|家庭|老人|儿童|群众|居民|农民|职工"
        "|员工|人才|人群|对象|青年|妇女",
    ),
    ("情形|情况|条件|情节", "的|时|后|前"),  # cases: “…的”
)
# 哪些 / 哪几类 / 哪三个 / 有什么 / 什么材料, then the kind (after a counter) and what the
# question says next
ASKED = re.compile(
    r"(?:哪些|哪几|哪[二两三四五六七八九十]|有什么|包括什么|什么(?=材料|资料|证件|证明|手续))"
    r"(?P<run>[\u4e00-\u9fff]{1,10})"
)
COUNTER = re.compile(r"^(?:个|大类|类|种|项|家|所|条|位|名|方面)")
# where a kind no class knows ends: a particle, modal or verb the question goes on with
KIND_END = re.compile(r"的|可以|可|会|能|要|需|应|来|是|有|在|被|由|给|把|向|从|将|优先")
KIND_WORDS = "|".join(
    sorted({w for row, _ in KINDS for w in row.split("|")}, key=len, reverse=True)
)


def asked_kind(question: str) -> str:
    """The kind of items a listing question names (哪几类中心 → 中心, 哪些场所 → 场所); "" when it
    names none (有哪些, 哪几方面). A kind word of ``KINDS`` is taken whole (联系方式, 人);
    another kind runs to the words the question goes on with (哪些大件装备的… → 大件装备).

    >>> asked_kind("要把园区建成哪几类中心？"), asked_kind("可以到哪些场所设售卖区？")
    ('中心', '场所')
    >>> asked_kind("试点落在哪些省市？"), asked_kind("证书有哪几个等级？")
    ('省市', '等级')
    >>> asked_kind("有哪些？"), asked_kind("哪些人能享受？"), asked_kind("有哪些家庭可以申请？")
    ('', '人', '家庭')
    >>> asked_kind("包括哪几方面？"), asked_kind("哪些大件装备的进口可以委托监管？")
    ('', '大件装备')
    >>> asked_kind("聚焦哪几大合作领域？"), asked_kind("去柜台要带什么材料？")
    ('合作领域', '材料')

    """
    m = ASKED.search(fold(question))
    if not m:
        return ""
    run = m.group("run")
    if not m.group(0).startswith("哪些"):  # 哪几大领域: 大 counts; 哪些大件装备: it does not
        run = re.sub(r"^大(?!类)", "", run)
    for text in (run, COUNTER.sub("", run)):
        if word := re.match(KIND_WORDS, text):
            return word.group(0)
    run = COUNTER.sub("", run)
    end = next((e.start() for e in KIND_END.finditer(run) if e.start() >= 2), len(run))
    kind = re.split(r"[或和及与、]", run[:end])[0]  # 哪些说法或做法 → 说法
    if word := re.search(KIND_WORDS, kind):  # 哪些社会组织参与 → 社会组织
        kind = kind[: word.end()]
    return kind if len(kind) >= 2 else ""


def _class_of(kind: str) -> tuple[str, str] | None:
    """The row of ``KINDS`` whose kind words end the given kind (联系方式 → ways)."""
    for words, endings in KINDS:
        if re.search(rf"(?:{words})$", kind):
            return words, endings
    return None


def same_kind(a: str, b: str) -> bool:
    """Do two kind words name the same kind: one ends with the other, or both are of one class?

    >>> same_kind("联系方式", "途径"), same_kind("研发创新机构", "中心"), same_kind("材料", "材料")
    (True, False, True)
    """
    if not a or not b:
        return False
    if a.endswith(b) or b.endswith(a):
        return True
    ca, cb = _class_of(a), _class_of(b)
    return ca is not None and ca == cb


def of_kind(item: str, kind: str) -> bool:
    """Is the item one of the asked kind — ending with the kind's word (not being that word
    alone), or with an ending of its class?

    >>> of_kind("加工制造中心", "中心"), of_kind("联系方式", "联系方式")
    (True, False)
    >>> of_kind("景区景点", "场所"), of_kind("宾馆饭店", "场所")
    (True, True)
    >>> of_kind("北京", "城市"), of_kind("农博会", "场所"), of_kind("坚持世界眼光", "机构")
    (True, False, False)
    """
    item = fold(item).strip(" “”\"'()")
    if not item or not kind or item == kind:
        return False
    if item.endswith(kind):
        return True
    found = _class_of(kind)
    return found is not None and re.search(rf"(?:{found[1]})$", item) is not None


def kind_share(items: list[str], kind: str) -> float:
    """The share of the items that are of the asked kind (0.0 for no items).

    >>> kind_share(["初级", "中级", "高级"], "等级"), kind_share(["农博会", "展销会"], "场所")
    (1.0, 0.0)
    """
    return sum(of_kind(i, kind) for i in items) / len(items) if items else 0.0


# after “A、B、C等”, the kind the enumeration gives itself: 等研发创新机构 → 研发创新机构
DECLARED = re.compile(
    r"等(?:[一二两三四五六七八九十\d]+[个类种项])?(?P<rest>[\u4e00-\u9fff]{1,10})"
)


def declared_kind(after: str, kind: str = "") -> str:
    """The kind word an enumeration gives itself right after it (“等研发创新机构在…”,
    “等途径畅通…”): the asked ``kind`` when its head (last two characters) is among the first
    words (等五大合作领域 for 领域), else the first kind word of any class; "" when none.

    >>> declared_kind("等研发创新机构在综合保税区发展"), declared_kind("等途径畅通村民说事渠道")
    ('机构', '途径')
    >>> declared_kind("等五大合作领域", "领域"), declared_kind("等五大合作领域")
    ('领域', '')
    >>> declared_kind("等职业联赛"), declared_kind("开设农产品销售专区")
    ('', '')
    """
    m = DECLARED.match(fold(after))
    if not m:
        return ""
    rest = m.group("rest")
    if len(kind) >= 2 and kind[-2:] in rest:
        return kind
    found = re.search(KIND_WORDS, rest)
    return found.group(0) if found else ""


MIN_SHARE = 0.5  # more than half the items must be of the kind


def enumerates_kind(items: list[str], kind: str, declared: str = "") -> bool:
    """Does an enumeration answer a question asking for items of ``kind``? Its own declared kind
    decides when it gives one (等研发创新机构 is no list of 中心, 等途径 is one of 联系方式);
    otherwise more than half of its items must be of the kind.

    >>> enumerates_kind(["国家技术创新中心", "国家工程研究中心", "新型研发机构"], "中心", "机构")
    False
    >>> enumerates_kind(["村民信箱", "说事热线", "手机客户端"], "联系方式", "途径")
    True
    >>> enumerates_kind(["接待时间", "场所", "联系方式"], "联系方式")
    False
    """
    if len(items) < 2 or not kind:
        return False
    if declared:
        return same_kind(declared, kind)
    return kind_share(items, kind) > MIN_SHARE
