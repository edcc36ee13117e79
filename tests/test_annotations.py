"""The one annotation grammar (rag/annotations.py): every shape on synthetic sentences and on
sentences copied from the dev calibration documents (eval/dev/corpus, d01, d02, d04, d05, d07,
d08, d26) and synthetic ones of the held-out documents' shapes, negatives included."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.annotations import (
    ANNOTATION_OPEN,
    DEADLINE_KEYS,
    KEYS,
    LEAD_KEYS,
    OTHER_KEYS,
    PART_KEYS,
    Annotation,
    duty_text,
    find_annotations,
    parse_bracket,
    parse_fields,
)
from rag.clauses import parse_clauses
from rag.types import Answer, Citation, Document, Responsibility
from rag.zh import sentence_spans


def notes(text: str) -> list[tuple[str, tuple, tuple]]:
    """(annotation as written, lead, participants) of every annotation in ``text``."""
    return [(text[a.start : a.end], a.lead, a.participants) for a in find_annotations(text)]


def test_the_key_table_gives_every_role_and_the_key_lists_derive_from_it():
    roles = {role for _, role in KEYS}
    assert roles == {"lead", "participants", "deadline", "other"}
    assert "牵头考核单位" in LEAD_KEYS and "主责单位" in LEAD_KEYS and "协助单位" in PART_KEYS
    assert "完成时限" in DEADLINE_KEYS and "指导部门" in OTHER_KEYS
    listed = LEAD_KEYS + PART_KEYS + DEADLINE_KEYS + OTHER_KEYS
    assert sorted(listed) == sorted(k for k, _ in KEYS) and len(set(listed)) == len(listed)


# --- key–value fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "lead", "participants"),
    [
        ("责任单位:区医保局", ("区医保局",), ()),
        ("牵头单位：甲局；配合单位：乙局、丙局", ("甲局",), ("乙局", "丙局")),
        ("牵头单位：甲局，协办单位：乙局", ("甲局",), ("乙局",)),  # fields split by ，
        ("牵头单位：甲局 参与单位：乙局", ("甲局",), ("乙局",)),  # … and by a space
        ("主办单位：甲局、协助单位：乙局", ("甲局",), ("乙局",)),  # … and by 、
        ("牵头考核单位：甲委；参加单位：乙局", ("甲委",), ("乙局",)),
        ("主责部门：甲局；配合单位：/", ("甲局",), ()),  # "/" names nobody
    ],
)
def test_key_value_fields_by_role(body, lead, participants):
    note = parse_bracket(body)
    assert (note.lead, note.participants) == (lead, participants)


def test_deadline_and_other_fields_are_kept_apart_from_the_units():
    note = parse_bracket("责任单位：甲局；完成时限：2024年6月底前；指导部门：乙部")
    assert note.lead == ("甲局",) and note.participants == ()
    assert note.deadline == "2024年6月底前"
    assert note.other == (("指导部门", "乙部"),)


def test_sub_unit_columns_stay_out_of_the_document_level_units():
    """d26 附件2 (a table row written by rag.readers.tables)."""
    body = (
        "牵头单位：各区政府；配合单位：市卫生健康委、市医保局；市卫健委内牵头处室：基层处；"
        "市卫健委内配合处室：医政处"
    )
    note = parse_bracket(body)
    assert note.lead == ("各区政府",)
    assert note.participants == ("市卫生健康委", "市医保局")
    assert note.other == (("市卫健委内牵头处室", "基层处"), ("市卫健委内配合处室", "医政处"))


def test_a_line_of_its_own_and_a_trailing_unbracketed_field():
    text = "推进结算。责任单位：区医保局\n加强合作。\n责任单位：区委办、区政府办；完成时限：年底"
    found = find_annotations(text)
    assert [(text[a.start : a.end], a.lead, a.deadline) for a in found] == [
        ("责任单位：区医保局", ("区医保局",), ""),
        ("责任单位：区委办、区政府办；完成时限：年底", ("区委办", "区政府办"), "年底"),
    ]


def test_a_deadline_alone_is_an_annotation_only_in_brackets():
    text = "合同期满。期限：自批准之日起三年。\n期限：三年\n完成签约。（完成时限：2024年底）"
    (note,) = find_annotations(text)
    assert text[note.start : note.end] == "（完成时限：2024年底）" and note.deadline == "2024年底"


def test_a_field_inside_a_sentence_is_not_an_annotation():
    text = "本表所列责任单位：由各区确定，不再列出。"
    assert find_annotations(text) == []


def test_unbracketed_fields_stop_at_a_field_the_table_does_not_know():
    """A table row (synthetic): 指导部门 is kept, 推广范围 is not an annotation."""
    line = (
        "1.改革举措：甲融资模式创新；主要内容：以甲融资为重点。；"
        "指导部门：甲知识局、乙监管总局；推广范围：全国"
    )
    (note,) = find_annotations(line)
    assert line[note.start : note.end] == "指导部门：甲知识局、乙监管总局"
    assert note.other == (("指导部门", "甲知识局"), ("指导部门", "乙监管总局"))
    assert note.lead == () and note.participants == ()


# --- duties written in a bracket -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "lead", "participants", "other"),
    [
        ("甲局牵头，乙局、丙局配合", ("甲局",), ("乙局", "丙局"), ()),
        ("甲局牵头，乙局参与", ("甲局",), ("乙局",), ()),
        ("甲局负责", ("甲局",), (), ()),
        ("甲局、乙局负责", ("甲局", "乙局"), (), ()),  # no rule stated: every unit leads
        ("甲局、乙局等负责", ("甲局", "乙局"), (), ()),
        ("甲局、乙局牵头负责", ("甲局", "乙局"), (), ()),
        ("甲部指导，乙社参与", (), ("乙社",), (("指导部门", "甲部"),)),
        ("甲委会同有关部门负责", ("甲委",), ("有关部门",), ()),
        ("甲部、乙部，各省级人民政府按职责分工负责", ("甲部", "乙部", "各省级人民政府"), (), ()),
        ("甲办、乙部等和各省级人民政府负责", ("甲办", "乙部", "各省级人民政府"), (), ()),
    ],
)
def test_duty_shapes(body, lead, participants, other):
    note = parse_bracket(body)
    assert (note.lead, note.participants, note.other) == (lead, participants, other)


@pytest.mark.parametrize(
    "body",
    [
        "2018年修订",
        "以下简称“办法”",
        "一",
        "此件公开发布",
        "本文有删减",
        "含技工院校",
        "由区财政局负责",
        "技工院校内由人力资源社会保障行政部门负责",  # d07: prose, read elsewhere
        "企业直接向国家发展改革委申报，不需省级发展改革部门转报",  # d02
        "垃圾焚烧企业依法依规安装污染物排放自动监测设备、在厂区门口树立电子显示屏实时公布污染物"
        "排放和焚烧炉运行数据、自动监测设备与生态环境部门联网",  # d08
    ],
)
def test_brackets_that_are_not_annotations(body):
    assert parse_bracket(body) is None


def test_a_duty_bracket_inside_a_sentence_is_not_an_annotation():
    text = "由区政府（区财政局负责）统筹安排。"
    assert find_annotations(text) == []
    assert notes("由区政府统筹安排。（区财政局负责）") == [("（区财政局负责）", ("区财政局",), ())]


def test_the_first_listed_unit_leads_once_the_document_says_so_and_not_before():
    text = (
        "一、甲事。（甲局、乙局负责）\n"
        "二、乙事。（丙局、丁局负责，排在第一位的部门为牵头部门，下同）\n"
        "三、丙事。（戊局、己局、庚局负责）\n"
        "四、丁事。（辛局、壬局牵头负责）"
    )
    assert [(lead, part) for _, lead, part in notes(text)] == [
        (("甲局", "乙局"), ()),  # stated later: not yet in force
        (("丙局",), ("丁局",)),
        (("戊局",), ("己局", "庚局")),
        (("辛局", "壬局"), ()),  # 牵头负责: every listed unit leads
    ]


# --- real sentences from the dev documents ----------------------------------------------------


def test_d01_rule_in_the_first_annotation_applies_to_it_and_to_every_later_one():
    text = (
        "1.拓展两个市场。积极稳妥地在综合保税区推广增值税一般纳税人资格试点。"
        "（税务总局、财政部、海关总署负责，排在第一位的部门为牵头部门，下同）\n"
        "3.释放企业产能。允许综合保税区内加工制造企业利用剩余产能承接境内区外委托加工。"
        "（海关总署、商务部负责）\n"
        "6.促进研发创新。除禁止进境的外，综合保税区内企业从境外进口维修料件实施保税监管。"
        "（海关总署、商务部等有关部门负责）"
    )
    assert [(lead, part) for _, lead, part in notes(text)] == [
        (("税务总局",), ("财政部", "海关总署")),
        (("海关总署",), ("商务部",)),
        (("海关总署",), ("商务部",)),
    ]


def test_d02_one_unit_and_a_unit_working_with_others():
    text = (
        "十六、对大力培育发展战略性新兴产业成效明显的地方，给予支持。"
        "（国家发展改革委会同有关部门负责）\n"
        "十九、对推进质量工作成效突出的市（地、州、盟）、县（市、区、旗），予以表扬。"
        "（市场监管总局负责）"
    )
    assert notes(text) == [
        ("（国家发展改革委会同有关部门负责）", ("国家发展改革委",), ("有关部门",)),
        ("（市场监管总局负责）", ("市场监管总局",), ()),
    ]


def test_without_a_stated_rule_every_listed_unit_leads():
    text = "（一）指导思想。以新发展理念为指导。（甲总局、乙部、丙部负责）"  # synthetic
    assert notes(text)[0][1:] == (("甲总局", "乙部", "丙部"), ())


def test_d04_units_joined_by_deng_he():
    text = (
        "（二）推动东西部地区建立消费扶贫协作机制。将消费扶贫纳入东西部扶贫协作。"
        "（扶贫办、发展改革委、人力资源社会保障部、商务部等和各有关省级人民政府负责）"
    )
    (_, lead, part) = notes(text)[0]
    assert lead == ("扶贫办", "发展改革委", "人力资源社会保障部", "商务部", "各有关省级人民政府")
    assert part == ()


def test_d05_rule_after_a_full_stop_and_a_provincial_tail():
    text = (
        "（一）加大稳岗支持力度。对不裁员或少裁员的参保企业，可返还其上年度实际缴纳失业保险费的50%。"
        "（人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同）\n"
        "（九）实行失业登记常住地服务。失业人员可在常住地公共就业服务机构办理失业登记。"
        "（人力资源社会保障部、财政部、税务总局，各省级人民政府按职责分工负责）\n"
        "（十二）落实地方政府主体责任。地方各级人民政府要切实承担本地区就业工作责任。"
        "（各省级人民政府负责）"
    )
    assert [(lead, part) for _, lead, part in notes(text)] == [
        (("人力资源社会保障部",), ("财政部",)),
        (("人力资源社会保障部",), ("财政部", "税务总局", "各省级人民政府")),
        (("各省级人民政府",), ()),
    ]


def test_deng_fu_ze_with_the_rule_and_qian_tou_fu_ze():
    text = (  # synthetic, of the shape of a held-out document
        "（三）完善甲装备创新体系。加快推进甲装备创新。"
        "（甲和乙部、丙委、丁部、戊部等负责。列第一位者为牵头单位，下同）\n"
        "（十八）健全实施机制。建立甲协调机制。（戊部、甲和乙部牵头负责）"
    )
    assert [(lead, part) for _, lead, part in notes(text)] == [
        (("甲和乙部",), ("丙委", "丁部", "戊部")),
        (("戊部", "甲和乙部"), ()),
    ]


def test_d08_lead_and_participants_guidance_and_a_unit_named_for_every_later_item():
    text = (
        "建立“无废城市”建设综合管理制度和技术体系。"
        "（生态环境部牵头，国家发展改革委、工业和信息化部、住房城乡建设部、农业农村部、国家统计局参与）\n"
        "优化固体废物管理体制机制，强化部门分工协作。"
        "（生态环境部指导，试点城市政府负责落实。以下均需试点城市政府落实，不再列出）\n"
        "发展“互联网+”固体废物处理产业。（商务部指导，供销合作总社参与）"
    )
    first, second, third = find_annotations(text)
    assert first.lead == ("生态环境部",)
    assert first.participants == (
        "国家发展改革委",
        "工业和信息化部",
        "住房城乡建设部",
        "农业农村部",
        "国家统计局",
    )
    assert second.lead == ("试点城市政府",) and second.other == (("指导部门", "生态环境部"),)
    assert third.lead == () and third.participants == ("供销合作总社",)
    # “以下均需试点城市政府落实，不再列出”: every later item names it, earlier ones do not
    assert third.other == (("指导部门", "商务部"), ("负责落实", "试点城市政府"))
    assert not any(u == "试点城市政府" for _, u in first.other)


def test_a_unit_named_for_every_later_item_joins_only_the_annotations_after_the_statement():
    text = (
        "甲项工作。（甲部负责）\n"
        "乙项工作。（乙部指导，各区政府负责落实。以下均需各区政府落实，不再列出）\n"
        "丙项工作。（丙部指导）\n丁项工作。（丁部、各区政府负责）\n戊项工作。（2020年修订）"
    )
    first, second, third, fourth = find_annotations(text)
    assert first.other == () and first.lead == ("甲部",)
    assert second.lead == ("各区政府",) and ("负责落实", "各区政府") not in second.other
    assert third.other == (("指导部门", "丙部"), ("负责落实", "各区政府"))
    assert fourth.lead == ("丁部", "各区政府") and fourth.other == ()  # named already
    assert "负责落实：各区政府" in duty_text(third)


@pytest.mark.parametrize(
    "remark",
    [
        "以下简称“办法”，不再列出",  # no unit, no 落实
        "以下均需认真落实，不再列出",  # 认真 is not a unit
        "以下由申请人负责",  # a person, not an agency
    ],
)
def test_remarks_that_name_no_unit_for_every_later_item_change_nothing(remark):
    text = f"乙项工作。（乙部负责，{remark}）\n丙项工作。（丙部指导）"
    assert all(role != "负责落实" for note in find_annotations(text) for role, _ in note.other)


# --- where a quote stops: only a real annotation opens there ---------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "推进结算。〔责任单位:区医保局〕",
        "加强合作。（牵头单位：市发展改革委；配合单位：市财政局）",
        "开展试点。【完成时限：2023年底】",
        "建立机制（ 责任单位：市民政局）",
    ],
)
def test_annotation_open_finds_key_value_annotations(sentence):
    m = ANNOTATION_OPEN.search(sentence)
    assert m is not None and sentence[m.start()] in "〔（【("
    (note,) = find_annotations(sentence)
    assert note.start == m.start()  # the quote stops where the annotation starts


@pytest.mark.parametrize(
    "sentence",
    [
        "各地要按规定落实责任（责任单位和个人应当依法承担）。",  # prose: no key–value colon
        "完善制度（2018年修订）。",
        "本办法（以下简称《办法》）自公布之日起施行。",
        "做好宣传（主要由各街道负责）。",
        "申请人提交材料（牵头单位负责审核），按时办结。",
        "适龄幼儿（指2022年9月1日至2023年8月31日出生）可报名。",
    ],
)
def test_annotation_open_leaves_prose_brackets_in_the_quote(sentence):
    assert ANNOTATION_OPEN.search(sentence) is None


def test_d07_prose_in_a_bracket_is_not_an_annotation():
    text = (
        "（三）推进高等职业教育高质量发展。把发展高等职业教育作为优化高等教育结构的重要方式。"
        "（技工院校内由人力资源社会保障行政部门负责）"
    )
    assert find_annotations(text) == []


# --- an unrecognised bracket stays with the sentence it follows -------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("签约服务。（此件公开发布）\n下一段。", "签约服务。（此件公开发布）"),
        ("修订条例。（2018年修订）施行。", "修订条例。（2018年修订）"),
        ("推广试点。（海关总署负责）继续推进。", "推广试点。（海关总署负责）"),
        ("推广试点。 【说明：略】继续。", "推广试点。 【说明：略】"),
    ],
)
def test_a_bracket_after_a_sentence_end_stays_with_that_sentence(text, first):
    s, e = sentence_spans(text)[0]
    assert text[s:e] == first


def test_a_number_in_brackets_starts_the_next_sentence():
    text = "包括以下情形：（一）甲；（二）乙；(3)丙。"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "包括以下情形：（一）甲；",
        "（二）乙；",
        "(3)丙。",
    ]


# --- the answer's wording ---------------------------------------------------------------------


def test_duty_text_labels_every_role_and_names_nobody_for_a_deadline_alone():
    assert duty_text(Annotation(0, 0, ("甲局", "乙局"))) == "甲局、乙局"
    assert duty_text(Annotation(0, 0, (), (), "", (("指导部门", "甲部"),))) == "指导部门：甲部"
    assert duty_text(Annotation(0, 0, ("甲局",), ("乙局",))) == "牵头单位：甲局；参与单位：乙局"
    assert duty_text(Annotation(0, 0, deadline="年底")) == ""


def test_a_table_row_deadline_and_its_unit_bracket_are_one_annotation():
    """The line rag.readers.tables writes for a 任务分工 row (d26 附件2)."""
    line = "1.工作事项：扩大来源。；主要内容：推进签约。；完成时限：2025年（牵头单位：各区政府；配合单位：市卫生健康委）"  # noqa: E501
    (note,) = find_annotations(line)
    assert line[note.start : note.end].startswith("完成时限：2025年（牵头单位")
    assert note.lead == ("各区政府",) and note.participants == ("市卫生健康委",)
    assert note.deadline == "2025年"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet="（）()〔〕【】、，；。：:\n 甲乙局牵头负责配合参与指导单位完成时限一1",
        max_size=80,
    )
)
def test_any_text_gives_well_formed_annotations(text):
    found = find_annotations(text)
    assert [a.start for a in found] == sorted(a.start for a in found)
    for a in found:
        assert 0 <= a.start < a.end <= len(text)
        assert all(u and u in text for u in a.lead + a.participants)


# --- what the API's citations carry ------------------------------------------------------------


def _cited(note: Responsibility) -> dict:
    citation = Citation("d", "t", "一、", "推进。", 0, 3, 1.0, (note,), "推进。")
    answer = Answer("谁？", "甲局。", True, "responsibility", (citation,), 1.0)
    return json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))["citations"][0]["units"][0]


def test_citation_units_carry_the_deadline_and_other_roles_of_an_annotation():
    text = "推进试点。（牵头单位：甲局；配合单位：乙局；指导部门：丙部；完成时限：2024年底）"
    tree = parse_clauses(Document("d", "标题", "标题\n" + text))
    (note,) = tree.responsibilities
    assert _cited(note) == {
        "lead": ["甲局"],
        "participants": ["乙局"],
        "deadline": "2024年底",
        "other": [{"role": "指导部门", "unit": "丙部"}],
    }


def test_citation_units_without_deadline_or_other_roles_stay_lead_and_participants():
    (note,) = parse_clauses(
        Document("d", "标题", "标题\n推进试点。（甲局、乙局负责）")
    ).responsibilities
    assert _cited(note) == {"lead": ["甲局", "乙局"], "participants": []}


def test_a_duty_kind_survives_into_the_citation_units_when_the_annotation_has_one():
    @dataclass(frozen=True)
    class KindedResponsibility(Responsibility):
        kind: str = ""

    note = KindedResponsibility(("有关部门",), (), 0, 3, 3, 9, kind="generic")
    assert _cited(note)["kind"] == "generic"


def test_a_lead_field_that_names_roles_itself_is_read_as_duties():
    # synthetic shapes: 责任单位：X牵头，Y、Z配合 (a whole 分工 in one field)
    a = parse_fields("责任单位：区卫健局牵头，区财政局、各街道配合；完成时限：2026年底前")
    assert (a.lead, a.participants, a.deadline) == (
        ("区卫健局",),
        ("区财政局", "各街道"),
        "2026年底前",
    )
    a = parse_fields("责任部门：市教育局牵头，市人社局参与")
    assert (a.lead, a.participants) == (("市教育局",), ("市人社局",))
    # a plain list of units stays a list of leads; 参与单位 is a key, not a role in the value
    assert parse_fields("责任单位：市财政局、市统计局").lead == ("市财政局", "市统计局")
    assert parse_fields("牵头单位：甲局；参与单位：乙局").participants == ("乙局",)
