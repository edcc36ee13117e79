"""The short answer's rules, each on its own sentences: synthetic ones and sentences of the dev
calibration documents (as literals), with negatives. Questions are worded here, not taken from
the gold."""

from __future__ import annotations

import pytest

from rag.question import Need
from rag.short import (
    ANSWERABLE,
    VALUE,
    clause_children,
    lead_in_items,
    listed_items,
    met_value,
    qualified_values,
    short_answer,
    units_asked,
)
from rag.types import Clause, ClauseTree, Document, Responsibility
from rag.zh import fold


def value(sentence: str, question: str) -> str:
    return met_value(sentence, Need.of(question), question)


def short(question: str, sentence: str, **kw) -> dict:
    return short_answer(
        question, sentence, Need.of(question), kw.get("duty"), kw.get("prose"), kw.get("items_from")
    )


# --- what one value is, as written ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, whole",
    [
        ("2019年6月底前", "2019年6月底前"),  # a month's end and a “before”
        ("于每年2月底前报送", "每年2月底前"),  # a yearly date
        ("每月25日前缴纳", "每月25日前"),
        ("次月十五日内办结", "次月十五日内"),
        ("于每年4月1日至6月20日开展复核", "每年4月1日至6月20日"),  # a date range
        ("试点推进(2025年11月-2027年3月):", "2025年11月-2027年3月"),
        ("报名时间为5月19日至5月22日(下午3点),", "5月19日至5月22日(下午3点)"),
        ("参加3—12个月的就业见习", "3—12个月"),  # a range of figures
        ("16—24岁失业青年", "16—24岁"),
        ("年龄需在45周岁以下", "45周岁以下"),  # 周岁 is not a week
        ("应当自变动发生之日起1个月内申报", "1个月内"),
        ("须于三个月内重行选举", "三个月内"),
        ("保持原有的制度,五十年不变。", "五十年不变"),
        ("原则上每5年修订1次", "每5年"),
        ("临时救助标准不超过240元/人/日", "不超过240元/人/日"),
        ("在本市工作满半年以上", "满半年以上"),
        ("按每人每月300元标准给予补贴", "每人每月300元"),
        ("额度不能超过每月1000元", "不能超过每月1000元"),
        ("于11月20前报送", "11月20前"),  # a day written without 日
        ("于11 月20前报送", "11 月20前"),
        ("每月25号前发放", "每月25号前"),
        ("须在保障期限届满3个月前提交申请", "满3个月前"),  # a relative deadline keeps its 前
        ("按月定期报送", "按月"),  # how often
        ("每季度至少公开一次", "每季度"),
    ],
)
def test_a_value_is_matched_whole(text: str, whole: str) -> None:
    assert fold(whole) in [m.group(0).strip() for m in VALUE.finditer(fold(text))]


@pytest.mark.parametrize(
    "text, part",
    [
        ("第八条 纳税人的支出", "八条"),  # an article number is no count
        ("本办法第二十三条所称", "十三条"),
        ("同一家庭在1个自然年度内", "一家"),  # 同一 is “the same”, not a count
        ("可申请一次性求职补贴", "一次"),  # 一次性 is “one-off”
        ("按每人每月1500元补贴", "每月"),  # a sum per month, not how often
        ("按年龄段分类", "按年"),
    ],
)
def test_numbers_that_are_no_value(text: str, part: str) -> None:
    assert part not in [m.group(0) for m in VALUE.finditer(fold(text))]


# --- which value answers --------------------------------------------------------------------


def test_a_figure_the_question_states_is_not_the_answer() -> None:
    sentence = (
        "在中国境内居住累计满183天的任一年度中有一次离境超过30天的,"
        "其在中国境内居住累计满183天的年度的连续年限重新起算。"
    )
    assert value(sentence, "住满183天的年度里，出境多少天就要重算？") == "超过30天"
    # a figure the question does not state stays a candidate
    assert value("居住满183天的,按规定申报。", "要住满多少天才申报？") == "满183天"


def test_item_and_article_numbers_are_no_figures() -> None:
    sentence = "(2)具有技能人员职业资格,高级技师年龄在45周岁以下,高级工年龄在35周岁以下;"
    assert value(sentence, "高级工要在多少岁以下？") == "35周岁以下"
    sentence = "第八条 纳税人接受学历继续教育的支出,按照每月400元定额扣除。"
    assert value(sentence, "继续教育每月能扣除多少？") == "每月400元"


def test_a_measure_named_outright_must_be_met() -> None:
    sentence = (
        "毕业2年内高校毕业生,以灵活就业人员身份参加职工养老保险的,按每人每月300元标准给予补贴。"
    )
    assert value(sentence, "毕业生参保每月补多少钱？") == "每人每月300元"
    sentence = "可享受1~3个月的长护险待遇,一个年度内享受待遇次数不超过2次。"
    assert value(sentence, "一年能享受几次待遇？") == "不超过2次"
    # a ratio question takes the percentage, not the period written beside it
    sentence = "返还标准可按6个月的失业保险金确定,或按企业应缴纳社会保险费50%的标准确定。"
    assert value(sentence, "能返还社保费的几成？") == "50%"
    # 多少个 is too loose a measure: the phrase about the question still wins (50名, not 1个)
    sentence = "每年引进博士人才不少于50名,领军人才项目不少于1个。"
    assert value(sentence, "每年引进多少个博士人才？") == "不少于50名"


def test_the_part_of_an_enumeration_the_question_names() -> None:
    sentence = (
        "签订1年以上劳动合同的,按博士每人10000元、硕士每人7000元、其他每人5000元标准给予补贴。"
    )
    assert value(sentence, "硕士能拿多少钱？") == "每人7000元"
    assert value(sentence, "博士能拿多少钱？") == "每人10000元"


def test_a_bound_asked_for_takes_the_bounded_figure() -> None:
    sentence = "企业招用离校2年内未就业高校毕业生的,按每招用1人不超过1500元的标准给予补助。"
    assert value(sentence, "招用离校未就业毕业生，每人最多补助多少？") == "不超过1500元"
    sentence = "其中职工参保人员每月上门次数不低于12次,每月服务时间为28小时;"
    assert value(sentence, "每月起码上门多少次？") == "不低于12次"
    # no bound asked: the closest phrase decides, as before
    sentence = "补贴期限最长不超过2年,补贴标准为每人3000元。"
    assert value(sentence, "补贴标准是多少钱？") == "每人3000元"


def test_the_figure_a_change_replaced_is_not_the_answer() -> None:
    sentence = "国务院决定,将2016年实施的24项督查激励措施调整增加为30项督查激励措施。"
    assert value(sentence, "现在督查激励措施有多少项？") == "30项"
    assert value(sentence, "原来督查激励措施有多少项？") == "24项"
    sentence = "将申领条件由参加失业保险3年以上放宽至参保1年以上。"
    assert value(sentence, "申领要参保多少年？") == "参保1年以上"  # what lasts, as asked


def test_alternatives_come_together_but_separate_figures_do_not() -> None:
    sentence = "服务协议有效期可为1年、2年或3年,并与医保政策实施周期相衔接。"
    assert value(sentence, "协议有效期可以选几年？") == "1年、2年或3年"
    sentence = "补贴期限最长不超过3年,首次申请应于登记之日起1年内提出。"
    assert value(sentence, "补贴期限最长几年？") == "不超过3年"


def test_a_duration_question_prefers_the_unit_it_asks() -> None:
    sentence = "居住累计满183天的年度连续不满六年的,经备案,免予缴纳个人所得税;"
    assert value(sentence, "居住183天的年度要连续不满几年才免税？") == "连续不满六年"


def test_deadlines_keep_their_before_and_their_yearly_prefix() -> None:
    sentence = "2019年6月底前,研究建立指标体系。"
    assert value(sentence, "指标体系最晚什么时候建立？") == "2019年6月底前"
    sentence = "2020年起,每年2月底前各省份完成绩效考核工作,3月底前完成指标分析工作。"
    assert value(sentence, "各省份每年最迟什么时候完成绩效考核？") == "每年2月底前"
    # the date a question already names is not what it asks
    sentence = "2019年起施行,每年3月底前报送上一年度报告。"
    assert value(sentence, "2019年起每年什么时候前报送？") == "每年3月底前"


# --- who ------------------------------------------------------------------------------------


def test_a_post_named_in_the_question_picks_its_role() -> None:
    duty = Responsibility(
        ("各区政府", "市卫生健康委"),
        (),
        0,
        1,
        1,
        2,
        other=(("市卫健委内牵头处室", "科教处"), ("市卫健委内配合处室", "基层处")),
    )
    assert units_asked("卫健委内哪个处室牵头？", duty) == {
        "lead": ["科教处"],
        "participants": ["基层处"],
    }
    # a question about the unit keeps the annotation's lead, the posts as other roles
    asked = units_asked("哪个单位牵头？", duty)
    assert asked["lead"] == ["各区政府", "市卫生健康委"] and len(asked["other"]) == 2


def test_with_no_lead_the_directing_role_leads() -> None:
    duty = Responsibility((), ("供销合作总社",), 0, 1, 1, 2, other=(("指导", "商务部"),))
    got = short("在线交易平台谁指导？", "支持企业建立在线交易平台。", duty=duty)
    assert got == {"lead": ["商务部"], "participants": ["供销合作总社"]}
    # with a lead, the other roles stay other roles
    duty = Responsibility(("甲局",), (), 0, 1, 1, 2, other=(("指导", "商务部"),))
    got = short("谁负责？", "建立平台。", duty=duty)
    assert got["lead"] == ["甲局"] and got["other"] == [{"role": "指导", "unit": "商务部"}]


def test_prose_units_whole_posts_and_joining_units() -> None:
    got = short(
        "防汛办公室主任由谁担任？",
        "办公室设在国家粮食局,由国家粮食局主要负责人兼任办公室主任。",
        prose="国家粮食局主要",
    )
    assert got == {"lead": ["国家粮食局主要负责人"], "participants": []}
    sentence = "区县(市)司法行政部门应当会同同级财政部门建立健全政府购买公共法律服务制度。"
    got = short("谁来建立购买法律服务的制度？", sentence, prose="区县(市)司法行政部门")
    assert got == {"lead": ["区县(市)司法行政部门"], "participants": ["同级财政部门"]}


def test_the_doer_not_the_overseer_and_who_answers_overall() -> None:
    sentence = (
        "在京津冀协同发展领导小组统筹指导下,河北省委和省政府要切实履行主体责任,加强组织领导。"
    )
    got = short("新区建设的主体责任由谁承担？", sentence, prose="在京津冀协同发展领导小组")
    assert got["lead"] == ["河北省委和省政府"]
    sentence = "试点地区政府办公厅(室)对试点工作的统筹推进负总责,并指定专门机构具体负责平台运维。"
    got = short("试点工作谁负总责？", sentence, prose="并指定专门机构")
    assert got["lead"] == ["试点地区政府办公厅(室)"]
    # “对…负责” without 总/全面/主体 is answerable-for, not a duty of its own
    assert ANSWERABLE.search("各地对本地区工作负责") is None
    assert ANSWERABLE.search("甲办对本地区工作负总责").group("who2") == "甲办"


def test_a_where_question_with_a_prose_duty_names_the_unit() -> None:
    sentence = "镇(街)负责受理残疾人两项补贴资格认定申请,并负责初审、信息公开。"
    assert short("补贴申请到哪一级受理？", sentence, prose="镇(街)") == {
        "lead": ["镇(街)"],
        "participants": [],
    }
    # without a prose duty it stays the sentence
    assert short("补贴申请到哪一级受理？", "申请材料应当齐全。") == {"text": "申请材料应当齐全。"}


# --- items ----------------------------------------------------------------------------------


def test_a_responsibility_remark_is_not_an_item() -> None:
    sentence = (
        "对融资租赁企业进出口飞机、船舶和海洋工程结构物等大型设备涉及跨关区的,"
        "实行海关异地委托监管。(海关总署、财政部、税务总局负责)"
    )
    items = listed_items(sentence)
    assert items[1:] == ["船舶和海洋工程结构物"] and "海关总署" not in "".join(items)


def test_questions_that_ask_no_list() -> None:
    sentence = "探索建立消费扶贫台账,数据作为政策支持重要依据。"
    assert short("台账有什么用？", sentence) == {"text": sentence}
    assert short("台账有什么内容？", "台账包括产品、数量、价格。")["items"] == [
        "产品",
        "数量",
        "价格",
    ]


def test_items_announced_by_a_lead_in_come_from_the_sub_clauses() -> None:
    lead_in = "毕业学年学生,符合以下3个条件之一,可申请一次性求职补贴,补贴标准为每人3000元。"
    children = [
        "(1)属于低保家庭成员,或属于特困人员;",
        "(2)属于持证残疾人;",
        "(3)曾获得国家助学贷款。",
    ]
    got = short("哪些学生能申请求职补贴？", lead_in, items_from=children)
    assert got == {"items": ["低保家庭成员,或属于特困人员", "持证残疾人", "曾获得国家助学贷款"]}
    # a sentence announcing nothing keeps its own items, whatever clauses follow
    got = short("有哪些联赛？", "发展足球、篮球等联赛。", items_from=children)
    assert got == {"items": ["发展足球", "篮球"]}
    assert lead_in_items(["(1)只有一项。"]) == []


def test_clause_children_are_the_sub_clauses_of_the_sentence_clause() -> None:
    text = "三、补贴\n符合以下条件之一:\n(1)甲;\n(2)乙。\n四、其他\n丙。"
    doc = Document("d", "t", text, source="d.txt")
    at = text.index
    clauses = (
        Clause(0, None, "一、", "三、", "补贴", ("三、补贴",), 0, at("四、")),
        Clause(1, 0, "(1)", "(1)", "", ("三、补贴", "(1)"), at("(1)"), at("(2)")),
        Clause(2, 0, "(1)", "(2)", "", ("三、补贴", "(2)"), at("(2)"), at("四、")),
        Clause(3, None, "一、", "四、", "其他", ("四、其他",), at("四、"), len(text)),
    )
    tree = ClauseTree(doc, clauses, ())
    assert [c.strip() for c in clause_children(tree, at("符合"))] == ["(1)甲;", "(2)乙。"]
    assert clause_children(tree, at("丙")) == []


def test_a_case_the_question_names_takes_its_own_figure() -> None:
    sentence = "新招用人员达到在职职工人数25%(超过100人的企业达到15%)的,可申请贷款。"
    assert value(sentence, "超过100人的企业新招用人员要占多大比例？") == "15%"
    assert value(sentence, "企业新招用人员要占在职职工多大比例？") == "25%"


def test_the_words_just_before_the_asked_figure_anchor_it() -> None:
    sentence = "居住累计满183天的任一年度中有一次离境超过30天的,连续年限重新起算。"
    assert value(sentence, "一年内单次出境超过多少天要重算？") == "超过30天"
    assert value(sentence, "一年里居住累计满多少天才算？") == "累计满183天"
    # no shared lead-up (one character is chance): the closest phrase decides
    sentence = "本科每人补贴3000元,研究生每人补贴5000元。"
    assert value(sentence, "研究生补贴多少钱？") == "5000元"


def test_a_figure_left_to_the_sub_clauses_of_a_lead_in() -> None:
    lead_in = (
        "第十七条　纳税人在主要工作城市没有自有住房而发生的住房租金支出，可以按照以下标准定额扣除："
    )
    children = [
        "（一）直辖市、省会（首府）城市、计划单列市以及国务院确定的其他城市，扣除标准为每月1500元；",
        "（二）除第一项所列城市以外，市辖区户籍人口超过100万的城市，扣除标准为每月1100元；"
        "市辖区户籍人口不超过100万的城市，扣除标准为每月800元。",
    ]
    assert short("在省会城市租房每月扣多少？", lead_in, items_from=children) == {
        "value": "每月1500元"
    }
    # a sentence with a figure of its own keeps it; no lead-in, no looking below
    assert short("每月扣多少？", "扣除标准为每月400元。", items_from=children) == {
        "value": "每月400元"
    }
    got = short("每月扣多少？", "纳税人可以扣除住房租金。", items_from=children)
    assert got == {"text": "纳税人可以扣除住房租金。"}


def test_a_met_figure_beats_a_bare_number_in_a_name() -> None:
    # the phrases tie; “1 2 N” names a scheme, 189项 meets 多少项 (the 、-part comes later)
    sentence = "以党委为核心的“1 2 N”服务矩阵,集成人口管理、落户等政务事项189项。"
    assert value(sentence, "党委服务矩阵集成政务事项多少项？") == "189项"


def test_a_sub_clause_is_read_to_its_first_line() -> None:
    q = "省会城市每月扣多少？"
    children = [
        "(一)直辖市、省会城市,扣除标准为每月1500元;",
        "(二)其他城市,扣除标准为每月800元。\n省会城市每月核定一次名单。",
    ]
    assert short(q, "按照以下标准扣除:", items_from=children) == {"value": "每月1500元"}


def test_two_ways_offered_in_turn_are_the_items() -> None:
    got = short("申请有哪些方式？", "申请人可以通过网上提交,也可以通过窗口、邮寄提交。")
    assert got == {"items": ["网上提交", "窗口、邮寄提交"]}
    # one way only: the 、-items as before
    got = short("申请有哪些方式？", "申请人可以通过网上、窗口提交。")
    assert got == {"items": ["网上", "窗口提交"]}


def test_items_numbered_in_the_sentences_after_a_count() -> None:
    children = ["一是完善监测机制。", "二是健全帮扶政策。", "三是强化资金保障。"]
    got = short("重点做好哪几方面工作？", "今年重点做好三个方面工作。", items_from=children)
    assert got == {"items": ["完善监测机制", "健全帮扶政策", "强化资金保障"]}
    # a count inside the sentence's own enumeration is no lead-in
    got = short("有哪几类？", "分为甲类、乙类两类情形,按规定办理。", items_from=children)
    assert got == {"items": ["甲类", "乙类"]}


# --- dates, deadlines, durations and frequencies ---------------------------------------------


def test_a_relative_deadline_keeps_its_anchor() -> None:
    # real calibration-document sentences (d28, d23, d29)
    sentence = "保障对象需要继续申请公共租赁住房保障的，须在保障期限届满3个月前提交申请。"
    assert value(sentence, "续期申请最迟什么时候前提交？") == "保障期限届满3个月前"
    sentence = "市场监督管理部门应当自收到投诉之日起七个工作日内作出受理或者不予受理的决定。"
    assert value(sentence, "几个工作日内作出受理决定？") == "自收到投诉之日起七个工作日内"
    sentence = "申请支出型临时救助的事由应发生在申请日前12个月内。"
    assert value(sentence, "支出要在多久以内发生？") == "申请日前12个月内"
    # no anchor: 在 right before the span, or a phrase that only precedes it
    assert value("未在1个月内退回原住房的。", "要在多长时间内退回？") == "1个月内"
    assert value("组织毕业2年内高校毕业生参加见习。", "要在多长时间内参加？") == "2年内"


def test_a_span_keeps_the_word_the_question_names_before_it() -> None:
    sentence = "香港特别行政区行政长官任期五年,可连任一次。"
    assert value(sentence, "行政长官任期多少年？可以连任几次？") == "任期五年、连任一次"
    # part of a word (业后 of 学业后) is not named; a bound (最长) is not either
    assert value("结束学业后2年内须迁出户口。", "毕业后多少年内要迁出？") == "2年内"
    assert value("补贴期限最长不超过3年。", "补贴期限最长几年？") == "不超过3年"
    # a figure that is no span or count of times keeps its own words only
    assert value("集成政务事项189项。", "集成政务事项多少项？") == "189项"


def test_a_day_question_takes_a_day_not_a_year() -> None:
    sentence = "编制试点工作方案,于11 月20前报送国家医保局。"
    assert value(sentence, "工作方案最晚哪天报送？") == "11 月20前"
    # a preamble's year is no answer to 哪天 (the sentence is left to answer for itself)
    sentence = "国务院决定,将2016年实施的24项督查激励措施调整增加为30项督查激励措施。"
    assert value(sentence, "实施办法最晚哪天报送？") == ""
    assert short("实施办法最晚哪天报送？", sentence) == {"text": sentence}


def test_a_start_question_takes_the_date_things_hold_from() -> None:
    sentence = "本通知2024年12月20日印发,相关标准均从2025年1月1日起执行。"
    assert value(sentence, "调整后的标准从哪天起执行？") == "2025年1月1日起"
    assert value(sentence, "通知是哪天印发的？") == "2024年12月20日"


def test_a_frequency_question_takes_the_frequency_with_its_count() -> None:
    sentence = "试点推进(2025年11月-2027年3月):试点省份按月定期向国家局报送试点阶段性报告。"
    assert value(sentence, "试点省份隔多久报一次？") == "按月"
    sentence = "家庭医生应每季度至少主动联系1次签约居民,提供健康指导。"
    assert value(sentence, "家庭医生多久联系居民一次？") == "每季度至少主动联系1次"
    # paid monthly is how often; a sum per month (每月1500元) is no frequency, nor a day (25日)
    assert value("补贴每月发放一次。", "补贴多久发一次？") == "每月发放一次"
    assert value("按每人每月1500元发放。", "补贴多久发一次？") == ""
    assert value("于每月25日前发放。", "补贴多久发一次？") == ""
    assert value("每月补贴1500元。", "每月补贴多少钱？") == "1500元"


def test_dates_asked_for_are_no_list() -> None:
    sentence = (
        "业主子女的报名时间为4月26日至4月28日,报名方式为带户口簿、出生证、身份证等材料现场报名。"
    )
    assert short("报名时间是哪几天？", sentence) == {"value": "4月26日至4月28日"}
    assert "items" in short("报名要带哪几样材料？", sentence)


def test_every_value_comes_with_the_words_that_qualify_it() -> None:
    # a real calibration-document sentence pair (d29): the kind of aid qualifies each span
    sentence = (
        "申请急难型临时救助的事由应发生在申请日前1个月内,"
        "申请支出型临时救助的事由应发生在申请日前12个月内。"
    )
    assert qualified_values(sentence) == [
        ("1个月内", "申请急难型临时救助的事由应发生在申请日前"),
        ("12个月内", "申请支出型临时救助的事由应发生在申请日前"),
    ]
    # an article number is no value and qualifies nothing; two values in one phrase
    assert qualified_values("第二十三条 本办法有效期5年。") == [("5年", "本办法有效期")]
    assert qualified_values("由24项调整为30项") == [("24项", "由"), ("30项", "调整为")]
    assert qualified_values("加强园区安全生产监管。") == []


def test_values_given_in_turn_go_with_the_item_the_question_names() -> None:
    # a real calibration-document sentence (d32)
    sentence = (
        "黄埔区、番禺区、南沙区的城镇特困人员基本生活标准为每人每月2094.4元，"
        "其农村特困人员基本生活标准每人每月分别为2413元、2512元、2121元。"
    )
    assert value(sentence, "南沙区农村特困人员每月生活标准是多少？") == "2121元"
    assert value(sentence, "黄埔区农村特困人员每月生活标准是多少？") == "2413元"
    # no item named, or items and values that do not pair up: the usual choice
    sentence = "甲市、乙市分别为300元、400元、500元。"
    assert value(sentence, "乙市是多少元？") == "300元、400元、500元"  # 3 values, 2 items
    assert value("甲市、乙市分别为300元、400元。", "标准是多少元？") == "300元、400元"


def test_a_figure_in_an_aside_about_a_part_yields_to_the_whole() -> None:
    # a real calibration-document sentence (d34)
    sentence = (
        "（一）机构护理发生的生活照料费用纳入支付范围的费用限额标准为职工参保人员每人每天120元"
        "（其中床位费不高于每人每天35元），居民参保人员每人每天60元；"
    )
    assert value(sentence, "职工生活照料费用每天最多报多少？") == "每人每天120元"
    assert value(sentence, "职工的床位费每天最多报多少？") == "不高于每人每天35元"


def test_by_which_day_is_no_who_question() -> None:
    # 由哪一天 asks for a date; only 由哪里 (由哪里的部门处理) asks who
    sentence = "新标准由市民政局负责组织实施，自2025年1月1日起执行。"
    got = short("新标准由哪一天开始执行？", sentence, prose="市民政局")
    assert "lead" not in got
    assert "2025年1月1日" in str(got)
