"""Value rules found on the synthetic unseen documents (eval/synth/), each checked on sentences
of its own — other wordings, other topics — and with a negative that must not change."""

from __future__ import annotations

from rag.question import Need, intent_of
from rag.short import met_value


def _value(sentence: str, question: str) -> str:
    return met_value(sentence, Need.of(question), question)


def test_a_floor_then_a_ceiling_is_one_range():
    s = "对单位处2万元以上10万元以下罚款，并责令限期整改。"
    assert _value(s, "单位要被罚多少钱？") == "2万元以上10万元以下"
    # two floors are two figures, not a range: only the asked one comes
    s = "个人投资5万元以上的给予奖励，企业投资50万元以上的给予补贴。"
    assert _value(s, "企业投资多少钱以上给补贴？") == "50万元以上"


def test_fractions_and_ratios_are_values():
    s = "按照参保人实际缴费额的二分之一给予补贴，补贴期限不超过2年。"
    assert _value(s, "补贴按缴费额的多大比例给？") == "二分之一"
    s = "改造资金由省级财政和市县财政按6:4分担，工期不超过8个月。"
    assert _value(s, "改造资金省里和市县各出多少？") == "6:4"
    # a time of day is no ratio
    assert _value("每日9:30前报送数据。", "每天几点前报送？") != "9:30"


def test_a_cost_split_is_asked_as_a_ratio():
    need = Need.of("这笔钱市里和区里各承担多少？")
    assert need.met("", "由市、区两级财政按5:5比例分担", False)
    assert not need.met("", "每户补助3000元", False)


def test_the_case_a_phrase_opens_with_picks_its_figure():
    s = "一般纳税人按销售额的3%预缴，小规模纳税人按1%预缴。"
    assert _value(s, "小规模纳税人预缴比例是多少？") == "1%"
    assert _value(s, "一般纳税人预缴比例是多少？") == "3%"


def test_a_grant_asked_is_a_sum_in_yuan():
    s = "对每吸纳1名脱贫人员就业的，给予企业2000元一次性吸纳就业补助。"
    assert _value(s, "吸纳脱贫人员就业能拿多少一次性补助？") == "2000元"
    # a grant the question asks that no sentence pays in money finds nothing to meet
    assert not Need.of("能拿多少一次性补助？").met("", "每人限享受1次", False)


def test_a_grant_item_need_not_name_the_grant_its_lead_in_names():
    need, context = Need.of("二级残疾人的护理补贴是多少？"), "残疾人两项补贴发放办法 第三条"
    assert need.met(context, "(二)二级残疾的,每人每月150元;", False)
    assert not need.met(context, "(二)二级残疾的,由社区登记;", False)
    # a money word that is no grant is still named by the sentence (工资 of 工资)
    assert not Need.of("最低工资是多少元？").met("", "交通费每月300元", False)


def test_how_long_without_a_time_word_may_be_a_length():
    s = "牵引绳长度不得超过2米，夜间出行应当佩戴反光标识。"
    assert _value(s, "牵引绳最长能有多长？") == "不得超过2米"
    s = "试用期不超过6个月。"
    assert _value(s, "试用期最长多长？") == "不超过6个月"
    # a time question stays a time question
    assert Need.of("多长时间内办结？").pattern.search("10个工作日内办结")
    assert not Need.of("多长时间内办结？").pattern.search("长度不超过2米")


def test_haoji_is_no_count():
    assert intent_of("同时有好几套房，能不能都享受？") == "general"
    assert intent_of("一共有几套房？") == "quantity"


def test_a_duty_word_naming_the_subject_does_not_make_a_who_question():
    assert intent_of("项目负责人最多能同时主持几个项目？") == "quantity"
    assert intent_of("各牵头单位最晚什么时候上报方案？") == "time"
    # asked outright, or with nothing else asked, it is still a who question
    assert intent_of("哪个部门负责审核，多久办完？") == "responsibility"
    assert intent_of("这项工作的牵头单位是哪个？") == "responsibility"


def test_an_age_asked_is_met_by_a_written_age():
    s = "申请人年龄不超过45周岁，具有本科以上学历。"
    assert _value(s, "申请人年龄最大多少岁？") == "不超过45周岁"
    assert not Need.of("最大多少岁？").pattern.search("具有本科以上学历满3年")


def test_a_figure_right_after_a_comma_is_read():
    s = "对骗取补贴的，责令退回，3年内不得再次申请。"
    assert _value(s, "骗取补贴的多少年内不能再申请？") == "3年内"
    assert Need.of("有多少人？").met("", "经审核，120人符合条件", False)
    # a thousands separator still binds its digits: 1,200元 is one figure
    assert _value("补助标准为1,200元。", "补助标准是多少元？") == "1,200元"
