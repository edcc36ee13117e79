"""Answers over the bundled corpus (hashing embedder: the logic, not the model, is tested)."""

from __future__ import annotations

import pytest

from rag.answer import CLARIFY, NOT_FOUND, Candidate
from rag.errors import BadQuestion, UnknownDocument
from rag.question import Need
from rag.short import short_answer
from rag.types import Chunk, ClauseTree, Document, Hit, Responsibility

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"
ITEM_2 = "附件1 › 二、重点任务 › (一)加强组织领导 › 2.强化互访交流"


def test_responsibility_answer_with_reference_and_located_citation(hashing_engine):
    a = hashing_engine.ask("谁负责医保跨省结算？")
    assert a.found and a.intent == "responsibility"
    assert a.answer.startswith(
        "区医保局。依据：《2023年江北区与黄州区(大别山革命老区)对口合作工作计划"
    )
    assert (
        f"》{ITEM_16}：“发挥江北区异地就医门诊直接结算的优势,推进江北黄州异地就医医保直接结算。”"
        in a.answer
    )
    first = a.citations[0]
    assert first.clause_path == ITEM_16
    text = hashing_engine.index.tree(first.doc_id).doc.text
    assert text[first.start : first.end] == first.text
    assert first.text.endswith("〔责任单位:区医保局〕")
    assert [u.lead for u in first.units] == [("区医保局",)]
    assert 1 <= len(a.citations) <= 3


def test_units_come_from_the_matching_sentence_not_the_whole_item(hashing_engine):
    a = hashing_engine.ask("组织区领导赴黄州区的考察调研活动由哪些单位负责？")
    assert a.found and a.citations[0].clause_path == ITEM_2
    assert a.answer.startswith("区人大常委会办公室、区政协办公室、其他区领导所在单位办公室。")
    assert "区委组织部" not in a.answer.split("依据")[0]
    b = hashing_engine.ask("江北-黄州互派干部人才交流机制由哪些单位负责？")
    assert b.answer.startswith("区委组织部、区人力社保局。")


def test_lead_and_participating_units_are_kept_apart(hashing_engine):
    a = hashing_engine.ask("劳动关系和谐稳定这项任务由哪个部门牵头，哪些部门参与？")
    assert a.found
    assert a.answer.startswith(
        "牵头单位：人社局；参与单位：经促局、安环局、社管局(综合治理中心)、综保区管理局、综合执法局。"
    )


def test_traditional_question_gets_the_same_answer(hashing_engine):
    simplified = hashing_engine.ask("谁负责医保跨省结算？")
    traditional = hashing_engine.ask("誰負責醫保跨省結算？")
    assert traditional.answer == simplified.answer


def test_figures_survive_intact(hashing_engine):
    a = hashing_engine.ask("柯橋區化解欠薪糾紛多少件？")
    assert a.found and a.intent == "quantity"
    assert "3291件" in a.answer and "2.6萬余個" in a.answer


def test_prose_duty_is_extracted(hashing_engine):
    a = hashing_engine.ask("村企结对的相关经费由谁落实解决？")
    assert a.found and a.answer.startswith("结对单位。依据：")


@pytest.mark.parametrize(
    "question",
    [
        "江北区安排给黄州区的对口合作专项资金具体是多少万元？",  # amount never given
        "今天天气怎么样？",  # off topic
        "昆山开发区2026年网格化满意度目标是多少？",  # year not covered
    ],
)
def test_weak_evidence_is_refused_with_related_passages(hashing_engine, question):
    a = hashing_engine.ask(question)
    assert not a.found
    assert a.answer.startswith(NOT_FOUND)
    assert a.citations, "the closest passages come back as possibly related"


def test_json_contract(hashing_engine):
    d = hashing_engine.ask("谁负责医保跨省结算？").to_dict()
    assert set(d) == {
        "question",
        "answer",
        "found",
        "intent",
        "citations",
        "latency_ms",
        "mode",
        "short_answer",
    }
    assert d["short_answer"] == {"lead": ["区医保局"], "participants": []}
    c = d["citations"][0]
    assert set(c) == {
        "doc_id",
        "title",
        "clause_path",
        "text",
        "start",
        "end",
        "score",
        "units",
        "passage",
        "page",
    }
    assert c["page"] is None  # a text file has no pages
    assert c["units"] == [{"lead": ["区医保局"], "participants": []}]
    assert d["mode"] == "extractive" and d["latency_ms"] > 0


def test_document_filter(hashing_engine):
    a = hashing_engine.ask("谁牵头社区治理？", doc_ids=["002"])
    assert a.citations and {c.doc_id for c in a.citations} == {
        hashing_engine.index.tree("002").doc.doc_id
    }
    with pytest.raises(UnknownDocument):
        hashing_engine.ask("谁牵头社区治理？", doc_ids=["999"])


def test_bad_questions_raise(hashing_engine):
    with pytest.raises(BadQuestion):
        hashing_engine.ask("   ")


@pytest.mark.parametrize(
    "question", ["谁？", "请问一下", "？", "的", "🙂", "\x07", "谁负责？！", "哪个部门牵头？"]
)
def test_a_question_with_no_searchable_word_asks_for_a_fuller_one(hashing_engine, question):
    answer = hashing_engine.ask(question)
    assert not answer.found and answer.intent == "unclear" and not answer.citations
    assert answer.answer == CLARIFY and NOT_FOUND not in answer.answer


def test_search_with_no_searchable_word_finds_nothing(hashing_engine):
    assert hashing_engine.search("请问一下") == [] and hashing_engine.search("\x1b") == []
    assert hashing_engine.retriever.search("请问一下", k=3, mode="bm25") == []


def _candidate(text: str, duty: Responsibility | None = None, prose: str | None = None):
    """A synthetic candidate: the whole text is its one sentence."""
    doc = Document("d", "标题", text)
    tree = ClauseTree(doc, (), (duty,) if duty else ())
    chunk = Chunk("d#0", "d", "标题", "", 0, len(text), text, (), 10)
    return Candidate(Hit(chunk, 1, 1.0), tree, 0, len(text), 1.0, 1.0, None, duty, prose, True)


def _short(question: str, text: str, **kw) -> dict:
    c = _candidate(text, **kw)
    return short_answer(question, c.quote(), Need.of(question), c.duty, c.prose_unit)


def test_short_answer_names_lead_and_participants_from_the_annotation():
    text = "推进异地就医直接结算。〔牵头单位:区医保局;参与单位:区卫健局、区财政局〕"
    duty = Responsibility(("区医保局",), ("区卫健局", "区财政局"), 0, 11, 11, len(text))
    assert _short("谁牵头异地就医结算？", text, duty=duty) == {
        "lead": ["区医保局"],
        "participants": ["区卫健局", "区财政局"],
    }


def test_short_answer_takes_the_prose_duty_of_the_phrase_the_question_is_about():
    text = "村企结对的相关经费由结对单位落实解决，联动活动经费由开发区财政和镇财政共同承担。"
    short = _short("联动活动经费由谁承担？", text, prose="结对单位")
    assert short == {"lead": ["开发区财政和镇财政"], "participants": []}


def test_short_answer_deadline_comes_from_the_annotation_else_the_date():
    text = "完成平台建设。〔责任单位:区数据局;完成时限:2024年6月底〕"
    duty = Responsibility(("区数据局",), (), 0, 7, 7, len(text), deadline="2024年6月底")
    assert _short("平台建设什么时候完成？", text, duty=duty) == {"value": "2024年6月底"}
    assert _short("材料什么时候报送？", "请于2018年12月31日前报送。") == {
        "value": "2018年12月31日前"
    }


def test_short_answer_value_is_the_figure_that_met_the_need_with_its_unit():
    text = "2025年,网格化知晓率达90%,网格化满意度达95%。"
    assert _short("2025年网格化满意度目标是多少？", text) == {"value": "95%"}
    assert _short("安排多少万元？", "共50户,安排资金300万元。") == {"value": "300万元"}
    assert _short("期限是多长？", "直通车期限为两年。") == {"value": "两年"}
    # the measure guessed from the question (多少个) yields to the phrase the question is about
    text = "每年引进博士人才不少于50名,领军人才项目不少于1个。"
    assert _short("每年引进多少个博士人才？", text) == {"value": "不少于50名"}
    both = _short("改造前后分别有多少块？", "原有11238块改后仅为2451块,增加212亩。")
    assert both == {"value": "11238块、2451块"}


def test_short_answer_lists_items_for_a_which_ones_question():
    short = _short("要发展哪些职业联赛？", "着力发展足球、篮球、排球等职业联赛。")
    assert short == {"items": ["着力发展足球", "篮球", "排球"]}
    listed = _short("聚焦哪几大领域？", "聚焦红色文化、乡村振兴、生态环境三大领域,打造一批平台。")
    assert listed == {"items": ["红色文化", "乡村振兴", "生态环境"]}
    # a sentence that enumerates nothing comes back whole
    assert _short("有哪些要求？", "严格执行本办法。") == {"text": "严格执行本办法。"}


def test_short_answer_of_a_general_question_is_the_sentence_without_its_annotation():
    text = "直接赋予最高信用等级。〔责任单位:海关总署〕"
    duty = Responsibility(("海关总署",), (), 0, 11, 11, len(text))
    assert _short("信用等级怎么定？", text, duty=duty) == {"text": "直接赋予最高信用等级。"}


def test_refused_and_unclear_answers_have_no_short_answer(hashing_engine):
    assert hashing_engine.ask("今天天气怎么样？").short_answer is None
    assert hashing_engine.ask("谁？").short_answer is None
