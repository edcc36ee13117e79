"""Listing questions: the kind of items asked for, whether a sentence gives items of that kind,
and how the items are cut — on synthetic sentences and sentences of the dev calibration
documents (as literals), with negatives. Questions are worded here, not taken from the gold."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer import Candidate, _core, listing_fits, short_of
from rag.items import asked_kind, declared_kind, enumerates_kind, kind_share, of_kind, same_kind
from rag.question import Need
from rag.short import (
    announces_kind,
    asked_items,
    enumeration,
    gives_asked_items,
    lead_in_above,
    listed_items,
    short_answer,
)
from rag.types import Clause, ClauseTree, Document


def short(question: str, sentence: str, **kw) -> dict:
    need = Need.of(question)
    return short_answer(
        question, sentence, need, None, None, kw.get("items_from"), kw.get("around")
    )


# --- the kind a question asks for -----------------------------------------------------------


@pytest.mark.parametrize(
    "question, kind",
    [
        ("开发区要建成哪几类中心？", "中心"),
        ("特产能在哪些场所摆摊？", "场所"),
        ("这次改革先在哪些省市试？", "省市"),
        ("技能证书分成哪几个等级？", "等级"),
        ("申领补贴要交哪些材料？", "材料"),
        ("群众可以通过哪些联系方式反映问题？", "联系方式"),
        ("哪些机构会搬过去？", "机构"),
        ("哪几大产业要重点发展？", "产业"),
        ("哪些家庭可以申请？", "家庭"),  # 家 is no counter here
        ("哪些大件设备的进口可以委托？", "大件设备"),  # 哪些大…: 大 is part of the kind
        ("有哪些？", ""),
        ("重点抓哪几方面？", ""),  # a counter alone names no kind
        ("今年的目标是什么？", ""),  # no listing question
    ],
)
def test_the_kind_a_question_asks_for(question: str, kind: str) -> None:
    assert asked_kind(question) == kind


def test_items_of_a_kind() -> None:
    assert of_kind("检测维修中心", "中心") and not of_kind("中心", "中心")
    assert of_kind("游客集散中心", "场所") and of_kind("高速公路服务区", "场所")
    assert of_kind("辽宁省", "省市") and of_kind("上海", "城市")
    assert of_kind("科研院所", "机构") and of_kind("企业总部", "机构")
    assert of_kind("说事热线", "联系方式") and of_kind("高级", "等级")
    # negatives: events are no places, principles no bodies, units no papers
    assert not of_kind("展销会", "场所") and not of_kind("国际标准", "机构")
    assert not of_kind("申报条件", "材料") and not of_kind("公共卫生", "人员")
    assert kind_share(["市财政局", "市人社局"], "材料") == 0.0
    assert kind_share(["身份证", "户口簿", "申请表", "住址"], "材料") == 0.75


def test_the_kind_an_enumeration_gives_itself() -> None:
    assert declared_kind("等研发创新机构在区内发展") == "机构"
    assert declared_kind("等途径畅通渠道") == "途径"
    assert declared_kind("等3类场所") == "场所"
    assert declared_kind("开设销售专区") == ""  # no 等: nothing declared
    # a kind no class knows is declared when the enumeration names it (等五大合作领域)
    assert (
        declared_kind("等三大重点产业", "产业") == "产业" and declared_kind("等三大重点产业") == ""
    )
    assert same_kind("途径", "联系方式") and same_kind("省份", "城市")
    assert not same_kind("机构", "中心") and not same_kind("", "中心")


def test_an_enumeration_answers_the_kind_it_is_of() -> None:
    centres = ["甲技术创新中心", "乙工程研究中心", "丙新型研发机构"]
    assert enumerates_kind(centres, "中心")  # most of the items end with 中心 …
    assert not enumerates_kind(centres, "中心", declared="机构")  # … but it says it lists 机构
    assert enumerates_kind(["村民信箱", "说事热线"], "联系方式", declared="途径")
    # the kind word itself among the items is no instance of it
    assert not enumerates_kind(["接待时间", "场所", "联系方式"], "联系方式")
    assert not enumerates_kind(["加工制造中心"], "中心")  # one item is no list
    assert not enumerates_kind(["甲中心", "乙中心"], "")  # no kind asked


# --- sentences that give the asked items (real calibration-document sentences) ---------------

CENTRES = (
    "加快综合保税区创新升级，打造对外开放新高地，推动综合保税区发展成为具有全球影响力和竞争力的"
    "加工制造中心、研发设计中心、物流分拨中心、检测维修中心、销售服务中心。"
)
LABS = (
    "综合运用综合保税区政策功能优势，支持国家产业创新中心、国家技术创新中心、国家工程研究中心、"
    "新型研发机构等研发创新机构在综合保税区发展。（发展改革委、科技部、海关总署负责）"
)
VENUES = (
    "鼓励贫困地区在景区景点、宾馆饭店、游客集散中心、高速公路服务区开设农产品销售专区，"
    "集中销售特色优势农产品。"
)
FAIRS = "支持贫困地区参加农博会、农贸会、展销会，专设消费扶贫展区，集中推介、展示、销售特色农产品。"
PILOTS = (
    "国家医保局确定北京市、天津市、河北省、辽宁省、浙江省、湖南省、重庆市医疗保障局为试点单位。"
)
CHANNELS = "（三）通过村民信箱、说事热线、手机客户端等途径畅通村民说事渠道；"
ADVISERS = (
    "第二十三条 村民委员会应当建立村法律顾问制度，将村法律顾问的接待时间、场所和联系方式向村民"
    "公布，为法律顾问开展法律服务提供便利。"
)


@pytest.mark.parametrize(
    "question, right, wrong",
    [
        ("保税区要建成哪几类中心？", CENTRES, LABS),
        ("农产品能到哪些场所专区销售？", VENUES, FAIRS),
        ("试点放在了哪些省市？", PILOTS, FAIRS),
        ("村民能通过哪些联系方式说事？", CHANNELS, ADVISERS),
    ],
)
def test_the_sentence_with_the_asked_kind_gives_the_items(
    question: str, right: str, wrong: str
) -> None:
    assert gives_asked_items(question, right, [])
    assert not gives_asked_items(question, wrong, [])


def test_a_unit_list_answers_no_question_for_papers() -> None:
    units = "由市财政局、市人社局、市税务局负责审核。"
    assert not gives_asked_items("申请要交哪些材料？", units, [])
    assert gives_asked_items("申请要交哪些材料？", "需提交身份证、户口簿、申请表。", [])


def test_the_items_of_a_real_sentence_of_the_asked_kind() -> None:
    # a modifier with 的 stays: it may be the item's own (居家建床的长期失能人员)
    assert short("保税区要建成哪几类中心？", CENTRES)["items"] == [
        "具有全球影响力和竞争力的加工制造中心",
        "研发设计中心",
        "物流分拨中心",
        "检测维修中心",
        "销售服务中心",
    ]
    assert short("农产品能到哪些场所专区销售？", VENUES)["items"] == [
        "景区景点",
        "宾馆饭店",
        "游客集散中心",
        "高速公路服务区",
    ]
    assert short("村民能通过哪些联系方式说事？", CHANNELS)["items"] == [
        "村民信箱",
        "说事热线",
        "手机客户端",
    ]
    levels = "院校内实施的职业技能等级证书分为初级、中级、高级，是职业技能水平的凭证。"
    assert short("证书分哪几个等级？", levels) == {"items": ["初级", "中级", "高级"]}


# --- items of the lead-in above a sub-clause --------------------------------------------------

LEAD = "第九条 投诉应当提供下列材料："
SUBS = [
    "（一）投诉人的姓名、电话号码、通讯地址；",
    "（二）被投诉人的名称（姓名）、地址；",
    "（三）具体的投诉请求以及消费者权益争议事实。",
]


def test_a_sub_clause_answers_with_the_items_its_lead_in_announces() -> None:
    got = short("投诉时要交哪些材料？", SUBS[0], around=(LEAD, SUBS))
    assert got == {
        "items": [
            "投诉人的姓名、电话号码、通讯地址",
            "被投诉人的名称（姓名）、地址",
            "具体的投诉请求以及消费者权益争议事实",
        ]
    }
    assert gives_asked_items("投诉时要交哪些材料？", SUBS[0], [], (LEAD, SUBS))
    # a lead-in announcing another kind leaves the sentence its own items
    other = ("村民委员会可以采取下列措施开展村民说事：", SUBS)
    assert short("要登记哪些信息？", SUBS[0], around=other)["items"][0] == "投诉人的姓名"
    assert not gives_asked_items("投诉时要交哪些材料？", SUBS[0], [], other)
    assert asked_items("投诉时要交哪些材料？", SUBS[0], [], None)[1] == "电话号码"


def test_a_lead_in_announces_its_kind() -> None:
    assert announces_kind(LEAD, "材料") and announces_kind(LEAD, "资料")
    assert announces_kind("取得所得需要办理汇算的情形包括：", "情况")
    assert announces_kind("应当落实下列措施：", "保障措施")  # the asked kind itself
    assert not announces_kind(LEAD, "方式") and not announces_kind("现将有关事项通知如下：", "材料")


def test_the_lead_in_above_a_sentence_comes_from_the_clause_tree() -> None:
    text = f"{LEAD}\n" + "\n".join(SUBS) + "\n第十条 其他。"
    at = text.index
    doc = Document("d", "t", text, source="d.md")
    path = ("第九条 投诉应当提供下列材料",)
    starts = [at(s) for s in SUBS] + [at("第十条")]
    clauses = (
        Clause(0, None, "条", "第九条", "投诉应当提供下列材料", path, 0, at("第十条")),
        *(
            Clause(n + 1, 0, "(一)", s[:3], "", (*path, s[:3]), starts[n], starts[n + 1])
            for n, s in enumerate(SUBS)
        ),
        Clause(4, None, "条", "第十条", "", ("第十条",), at("第十条"), len(text)),
    )
    tree = ClauseTree(doc, clauses, ())
    lead, subs = lead_in_above(tree, at("（二）"))
    assert lead.strip() == LEAD and [s.strip() for s in subs] == SUBS
    assert lead_in_above(tree, at("第十条")) is None  # the top level has none
    assert lead_in_above(tree, at("电话号码")) is None  # nor a sentence further into a clause

    def candidate(start: int, end: int) -> Candidate:
        found = Candidate(None, tree, start, end, 0.5, 0.5, 0.5, None, None, True)  # type: ignore[arg-type]
        return replace(found, rank_share=1.0)  # in the best passage's document

    subs_c = candidate(at(SUBS[0]), at(SUBS[0]) + len(SUBS[0]))
    other = candidate(at("第十条"), len(text))
    q = "投诉时要交哪些材料？"
    fitted = listing_fits(q, Need.of(q), [other, subs_c])
    assert [c.fits for c in fitted] == [False, True]
    # when no sentence gives the asked kind, every sentence keeps its fit
    q = "投诉时有哪些联系方式？"
    assert [c.fits for c in listing_fits(q, Need.of(q), [other, subs_c])] == [True, True]
    # a list of the kind only in another document than the best passage's changes nothing
    elsewhere = [replace(c, rank_share=0.5) for c in (other, subs_c)]
    q = "投诉时要交哪些材料？"
    assert [c.fits for c in listing_fits(q, Need.of(q), elsewhere)] == [True, True]
    # the answer names the items the sentence does not state itself, then quotes it
    q = "投诉时要交哪些材料？"
    short = short_of(q, subs_c, Need.of(q))
    assert _core(subs_c, "general", short).split("；") == [s[3:-1] for s in SUBS]
    assert _core(subs_c, "general", {"items": ["投诉人的姓名"]}) == subs_c.quote()
    # a question asking no list is left alone
    q = "投诉材料交给谁？"
    assert [c.fits for c in listing_fits(q, Need.of(q), [other, subs_c])] == [True, True]


# --- how items are cut ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, items",
    [
        # the verb phrase leading up to the first item goes
        (LABS, ["国家产业创新中心", "国家技术创新中心", "国家工程研究中心", "新型研发机构"]),
        (
            "重点承接高校、科研院所、医疗机构、企业总部等。",
            ["高校", "科研院所", "医疗机构", "企业总部"],
        ),
        # … and the words after the last one
        ("重点保证北京、天津、上海、重庆4个直辖市的供应。", ["北京", "天津", "上海", "重庆"]),
        (PILOTS, ["北京市", "天津市", "河北省", "辽宁省", "浙江省", "湖南省", "重庆市医疗保障局"]),
        # the list ends at its 等, whatever 、 follows
        ("面向干部群众、中小学生等群体开放企业、普及知识。", ["干部群众", "中小学生"]),
        # 等级, 一等奖 are no closing 等
        ("设置一等奖、二等奖、三等奖。", ["一等奖", "二等奖", "三等奖"]),
        # a last item joining two stays whole: 和 joins names too (住房和城乡建设部)
        ("鼓励电商企业、商贸企业和批发市场到贫困地区采购。", ["电商企业", "商贸企业和批发市场"]),
        ("会同财政部、住房和城乡建设部等部门。", ["财政部", "住房和城乡建设部"]),
        # verbs inside names stay: 国家发展改革委 is no 发展 of 改革委
        ("国家发展改革委、财政部、商务部等。", ["国家发展改革委", "财政部", "商务部"]),
        ("重点人群、一般人群。", ["重点人群", "一般人群"]),
        # 、 inside brackets joins no items; a verb inside a modifier (成效突出的) is no lead-up
        (
            "对工作成效突出的市（地、州、盟）、县（市、区、旗）。",
            ["工作成效突出的市（地、州、盟）", "县（市、区、旗）"],
        ),
        # a duration after the last item is no count summing the list up
        (
            "职业院校、本科高校教师每年至少1个月在企业实训。",
            ["职业院校", "本科高校教师每年至少1个月"],
        ),
        # a first item with 的 inside stays whole when it is not longer than the others by much
        (SUBS[0], ["投诉人的姓名", "电话号码", "通讯地址"]),
        # an item list closed by ；
        (CHANNELS, ["村民信箱", "说事热线", "手机客户端"]),
    ],
)
def test_items_are_cut_clean(sentence: str, items: list[str]) -> None:
    assert listed_items(sentence) == items


@pytest.mark.parametrize(
    "sentence",
    [
        "集中推介、展示、销售特色农产品。",  # verbs sharing one object
        "打造便捷、安全、绿色、智能的交通系统。",  # modifiers sharing one noun
        "建立说事、议事、办事、评事的流程。",
        "严格执行本办法。",  # nothing enumerated
    ],
)
def test_a_list_of_verbs_or_modifiers_is_no_item_list(sentence: str) -> None:
    assert listed_items(sentence) == []


def test_an_enumeration_reports_what_follows_its_closing_etc() -> None:
    items, after = enumeration(LABS)
    assert items[-1] == "新型研发机构" and declared_kind(after) == "机构"
    assert enumeration("奖项为一等奖、二等奖。") == (["一等奖", "二等奖"], "")


def test_a_question_asking_which_days_wants_the_dates() -> None:
    sentence = "报名时间为4月26日至4月28日，报名方式为携带户口簿、出生证等材料到园现场报名。"
    assert short("报名是哪几天？", sentence) == {"value": "4月26日至4月28日"}
    assert short("报名要带哪些材料？", sentence)["items"] == ["户口簿", "出生证"]


def test_certificates_and_costs_are_kinds_of_their_own():
    assert of_kind("收入证明", "材料") and of_kind("情况说明", "材料")
    assert of_kind("床位费", "费用") and of_kind("护理费", "费用")
    assert not of_kind("护理机构", "费用")
