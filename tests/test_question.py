from __future__ import annotations

import pytest

from rag.errors import BadQuestion
from rag.question import MAX_QUESTION_CHARS, Need, clean_question, intent_of, prose_unit


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
