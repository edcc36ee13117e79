"""Traditional-Chinese (Hong Kong) questions and texts: variant characters, colloquial names and
Cantonese question words, ages and spans written in Chinese numerals."""

from __future__ import annotations

import pytest

from rag.formal import formal
from rag.question import Need, clean_question, intent_of
from rag.short import met_value
from rag.zh import fold, sentence_spans

# a sentence as the Basic Law booklet (dev calibration d43) prints it
ARTICLE = (
    "第四十四條 香港特別行政區行政長官由年滿四十周歲，在香港通常居住連續滿二十年並在外國無居留權"
    "的香港特別行政區永久性居民中的中國公民擔任。"
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("衞生署", "卫生署"),
        ("公共屋邨", "公共屋村"),
        ("甚麼時候", "什么时候"),
        ("甚么时候", "什么时候"),
        ("隣近地區", "邻近地区"),
        ("敍述", "叙述"),
    ],
)
def test_fold_maps_variants_t2s_keeps(text, folded):
    assert fold(text) == folded
    assert len(fold(text)) == len(text)


def test_fold_leaves_other_characters_alone():
    assert fold("甚至") == "甚至"  # 甚 alone is no variant
    assert fold("周歲 週年") == "周岁 周年"


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("特首任期幾多年？", "行政長官任期多少年？"),
        ("特首由谁任命？", "行政長官由谁任命？"),
        ("港府幾時公布？", "香港特別行政區政府何時公布？"),
        ("邊個部門負責審批？", "哪個部門負責審批？"),
        ("由邊個批准？", "由誰批准？"),
        ("申請係咪要交費？", "申請是否要交費？"),
        ("點樣申請？", "怎樣申請？"),
        ("審批要幾耐？", "審批要多久？"),
        ("區徽係咩圖案？", "區徽是甚麼圖案？"),
        ("香港特區嘅區旗係乜嘢？", "香港特別行政區的區旗是甚麼？"),
        ("佢唔申報會點？", "他不申報會點？"),
    ],
)
def test_colloquial_hong_kong_wording_becomes_formal(question, wanted):
    assert formal(question) == wanted


@pytest.mark.parametrize(
    "question",
    [
        "身邊個別人員由誰負責？",
        "路旁邊個體攤販歸誰管？",
        "行政長官任期多少年？",
        "谁负责医保？",
        "深圳經濟特區由誰管理？",
        "兩者的關係是甚麼？",
        "聯係由誰負責？",
    ],
)
def test_formal_leaves_other_words_alone(question):
    assert formal(question) == question


def test_clean_question_reads_the_formal_wording():
    assert clean_question(" 特首任期幾多年？\u200b") == "行政長官任期多少年？"


def test_answer_echoes_the_question_as_asked(hashing_engine):
    asked = "特首任期幾多年？"
    assert hashing_engine.ask(asked).question == asked


@pytest.mark.parametrize(
    "question", ["出任委員會主席的年齡下限是多少歲？", "担任组长须工作满几年？", "擔任主席要多久？"]
)
def test_a_figure_about_a_post_is_no_who_question(question):
    assert intent_of(question) != "responsibility"


@pytest.mark.parametrize(
    "question", ["組長由誰擔任？", "由哪个部门担任召集单位？", "總指揮由哪位擔任"]
)
def test_who_serves_is_still_a_who_question(question):
    assert intent_of(question) == "responsibility"


@pytest.mark.parametrize("question", ["行政長官須年滿多少歲？", "申请人的年龄是几岁？"])
def test_an_age_question_is_met_by_an_age_in_chinese_numerals(question):
    need = Need.of(clean_question(question))
    assert need.met("", fold(ARTICLE), False)
    assert need.met("", fold("申請人須年滿十八歲。"), False)
    assert not need.met("", fold("申請人須在本港工作滿十八年。"), False)
    assert met_value(ARTICLE, need, question) == "滿四十周歲"


def test_an_age_is_no_span_of_weeks():
    need = Need.of("須在香港居住多久？")
    assert not need.met("", fold("年滿四十周歲的永久性居民"), False)
    assert not need.met("", fold("本條例生效三周年"), False)
    assert need.met("", fold("每兩周報送一次"), False)
    assert met_value(ARTICLE, need, "須在香港通常居住多久？") == "滿二十年"


def test_colloquial_question_finds_the_formal_sentence_value():
    question = clean_question("做特首要在香港住滿幾多年？")
    assert "行政長官" in question and "多少年" in question
    assert met_value(ARTICLE, Need.of(question), question) == "滿二十年"


def test_a_line_broken_after_a_comma_is_one_sentence():
    text = "第一條 為保障市民的權利、\n自由和義務，特制定本法。\n第二條 本法自公布之日起施行。"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "第一條 為保障市民的權利、\n自由和義務，特制定本法。",
        "第二條 本法自公布之日起施行。",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "考慮的事項如下，\n(a) 甲；\n(b) 乙。",
        "包括以下內容、\n• 甲。",
        "本辦法規定如下，\n第二條 乙。",
        "主要任務，\n一、加強領導。",
        "一、\n總則",
    ],
)
def test_a_line_before_an_item_or_a_bare_number_still_ends(text):
    assert len(sentence_spans(text)) == text.count("\n") + 1


def test_the_basic_law_booklet_keeps_its_page_broken_sentences_whole(dev_read):
    text = dev_read("d43").doc.text
    start = text.index("國家通過普及理想教育")
    spans = [(a, b) for a, b in sentence_spans(text) if a <= start < b]
    assert spans and "紀律和法制教育" in text[spans[0][0] : spans[0][1]]


def test_an_item_label_line_and_its_bullet_are_one_sentence():
    text = "(b) 第2類監察\n• 行政長官；或• 由行政長官指定的人員。\n(c) 緊急授權\n• 處長。"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "(b) 第2類監察\n• 行政長官；",
        "或• 由行政長官指定的人員。",
        "(c) 緊急授權\n• 處長。",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "(a) 申請人須填表。\n• 甲。",  # the label line is a sentence already
        "(a) 截取\n(b) 監察",  # no bullet follows
        "總則\n• 甲。",  # a heading, not an item label
        "(a) 包括以下各項：\n• 甲。",
    ],
)
def test_other_lines_before_a_bullet_still_end(text):
    assert len(sentence_spans(text)) == 2


def test_the_interception_guidelines_keep_an_authority_with_its_item(dev_read):
    text = dev_read("d41").doc.text
    at = text.index("緊急授權\n•")
    spans = [(a, b) for a, b in sentence_spans(text) if a <= at < b]
    assert spans and "警務處處長" in text[spans[0][0] : spans[0][1]]
