from __future__ import annotations

import pytest

from rag.duties import prose_unit
from rag.errors import BadQuestion
from rag.question import MAX_QUESTION_CHARS, Need, clean_question, intent_of
from rag.zh import fold


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("谁负责医保跨省结算？", "responsibility"),
        ("誰負責醫保跨省結算？", "responsibility"),
        ("这项任务由哪些单位参与？", "responsibility"),
        ("哪个部门牵头建立产业链党委", "responsibility"),
        ("化解欠薪纠纷多少件", "quantity"),
        ("满意度要达到什么比例", "quantity"),
        ("什么时候完成社区拆分", "time"),
        ("何時實現全覆蓋", "time"),
        ("江北黄州游客互换活动叫什么名字", "general"),
    ],
)
def test_intents(question, intent):
    assert intent_of(question) == intent


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "问" * (MAX_QUESTION_CHARS + 1)])
def test_empty_and_oversized_questions_are_refused(bad):
    with pytest.raises(BadQuestion):
        clean_question(bad)


def test_question_is_trimmed_and_limit_is_inclusive():
    assert clean_question("  谁负责？ ") == "谁负责？"
    assert len(clean_question("问" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


def test_quantity_needs_a_figure_in_the_measure_asked():
    need = Need.of("元松村耕地改造后有多少块？")
    assert need.met("", "原有11238块改后仅为2451块", False)
    assert not need.met("", "改后耕地面积增加212亩", False)
    assert Need.of("隐患整改了多少个").met("", "累计整改问题隐患2.6万余个", False)


def test_money_questions_need_the_money_word_and_an_amount():
    need = Need.of("高标准农田建设总投资是多少？")
    assert need.topics == ("投资",)
    assert not need.met("", "流转费用提高了100元/亩", False)
    assert need.met("", "投资250万元安装计量设施", False)
    assert Need.of("网格员报酬是多少钱").met("", "网格员报酬每年3000元", False)


def test_ratio_questions_need_a_percentage():
    need = Need.of("医保报销比例是多少？")
    assert not need.met("", "推进异地就医医保直接结算", False)
    assert need.met("", "报销比例达到70%", False)


def test_a_named_year_must_be_the_sentences_year():
    need = Need.of("到2025年网格化满意度是多少")
    assert need.met("", "到2025年,网格化满意度达95%", False)
    assert not need.met("", "2023年,网格化满意度达94%", False)
    assert need.met("2025年计划 › 1.目标 满意度达95%", "满意度达95%", False)  # undated sentence


def test_responsibility_needs_units_and_the_post_asked_about():
    assert Need.of("谁负责医保结算").met("", "推进医保结算", True)
    assert not Need.of("谁负责医保结算").met("", "推进医保结算", False)
    leader = Need.of("领导小组组长是哪位领导？")
    assert not leader.met("", "发挥领导小组统筹协调作用", True)
    assert leader.met("", "由区长任组长", True)


@pytest.mark.parametrize(
    ("sentence", "unit"),
    [
        ("村企结对的相关经费由结对单位落实解决。", "结对单位"),
        (
            "协调小组下设办公室，由宁波石化开发区机关党委专职副书记任办公室主任",
            "宁波石化开发区机关党委专职副书记",
        ),
        ("链长办公室主任单位定期牵头组织成员单位开展座谈", "链长办公室主任单位"),
        ("充分发挥安委会办公室统筹协调作用,及时发布安全提醒函", "安委会办公室"),
        ("镇退役军人服务站为每位春季退役军人发放返乡“明白卡”", "镇退役军人服务站"),
        ("党员副链长任党委书记", "党员副链长"),
        ("加强园区安全生产监管。", None),
    ],
)
def test_duties_stated_in_prose(sentence, unit):
    assert prose_unit(sentence) == unit


# Real dev-corpus sentences (eval/dev/corpus) and synthetic ones, positive and negative.
@pytest.mark.parametrize(
    ("question", "sentence", "met"),
    [
        ("每年召开几次会议", "每年召开两次会议", True),
        ("国务院常务会议每月召开几次", "国务院常务会议一般每月召开三次", True),
        ("开展了几次大督查", "国务院部署开展了第五次大督查", False),  # an ordinal, not a count
        ("有多少项任务", "明确十项重点任务", True),
        ("有多少项任务", "明确重点任务", False),
        ("有多少人参加", "开设百人课堂", False),  # a name, not a count
        ("有多少人参加", "共有一百二十人参加", True),
        ("多少小时内报告", "应当在二十四小时内报告", True),
        ("多少个工作日内受理", "应当自收到投诉之日起七个工作日内作出受理或者不予受理", True),
        ("多少个工作日内核查", "应当自发现之日起十五个工作日内予以核查", True),
        ("多少个工作日内受理", "2024年3月1日起施行", False),
        ("办理期限多长", "自受理之日起20个工作日内办结", True),
        ("要多久办完", "于2025年12月底前办结", False),  # a date, not a span
        ("多久评估一次", "每3年评估一次", True),
        ("联席会议多久召开一次", "联席会议原则上每季度召开一次", True),  # how often: a period
        ("联席会议多久召开一次", "联席会议由市政府召集", False),
        ("贷款额度是多少万元", "可申请最高不超过15万元的创业担保贷款", True),
        ("罚款金额是多少", "可以处10万元以下的罚款", True),
        ("罚款金额是多少", "可以处以罚款，情节严重的责令停业", False),
        ("专项资金有多少", "资金用于支持3个项目", False),  # a number, but not money
        ("覆盖率要达到多少比例", "覆盖率达到90%以上", True),
        ("自筹比例是多少", "自筹部分不低于三成", True),
        ("占比多少", "占全市的三分之一", True),
        ("补助比例是多少", "每人补助3000元", False),  # money, not a ratio
        ("成员单位有多少个", "成员单位包括市发展改革委等", False),
    ],
)
def test_needs_on_counts_durations_ratios_money(question, sentence, met):
    assert Need.of(question).met("", fold(sentence), False) is met


def test_deadline_question_is_met_by_a_date_or_an_annotated_deadline():
    need = Need.of("改造工作什么时候完成")
    assert need.met("", "完成老旧小区改造", True, deadline="2025年6月底前")
    assert need.met("", "2025年底前完成老旧小区改造", False)
    assert not need.met("", "完成老旧小区改造", True, deadline="")
    # a question that is not about a deadline is not met by one
    assert not Need.of("专项资金是多少万元").met("", "完成改造", True, deadline="2025年底")
    assert not Need.of("要多久办完").met("", "完成改造", True, deadline="2025年底")
