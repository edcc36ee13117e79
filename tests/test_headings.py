"""Headings (rag/headings.py) and the outlines rag.clauses builds from them: each pattern on
synthetic lines and on lines copied from the dev documents, negatives included, then spot checks
of ``parse_clauses`` on dev documents of each kind."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rag.clauses
import rag.headings
import rag.normalize
from rag.clauses import find_clauses, parse_clauses
from rag.headings import heading_at, rank_of
from rag.types import Document


def tree_of(*lines: str):
    text = "\n".join(("某某办法",) + lines)
    return parse_clauses(Document("x", "某某办法", text))


@pytest.fixture
def dev_tree(dev_read):
    """``dev_tree("d01")``: a dev document parsed from the session's read (conftest ``dev_read``)."""
    return lambda prefix: parse_clauses(dev_read(prefix).doc)


def test_one_table_shared_by_reading_and_structuring():
    assert rag.clauses.heading_at is rag.headings.heading_at
    assert rag.normalize.heading_at is rag.headings.heading_at


@pytest.mark.parametrize(
    ("line", "kind", "label"),
    [
        ("第一章　总则", "章", "第一章"),
        ("第一部分：一类门诊特定病种", "部分", "第一部分"),  # d45 附件2
        ("第三条 载体建设。被香港特别行政区政府认定的孵化器", "条", "第三条"),  # d39
        ("第十二條　本條例自公布之日起施行。", "条", "第十二條"),  # traditional, folded first
        ("第二章　第一節　一般規定", "章", "第二章"),
        ("1﹒加强组织领导", "1.", "1﹒"),  # U+FE52
        ("１．加强组织领导", "1.", "１．"),
        ("1　总则", "1.", "1"),  # d14
        ("1.1　编制目的及依据", "1.1", "1.1"),  # d14
        ("1.2.1　国家级（Ⅰ级）：两个以上省、自治区、直辖市发生粮食应急状态", "1.1.1", "1.2.1"),
        ("①提高签约服务质量", "①", "①"),
        ("专栏1 重大工程", "专栏", "专栏1"),
        ("附件", "附件", "附件"),  # d10 d17 d44: un-numbered
        ("附件2", "附件", "附件2"),
        ("附件1：", "附件", "附件1"),
    ],
)
def test_heading_patterns(line, kind, label):
    h = heading_at(line)
    assert h is not None and (h.kind, h.label) == (kind, label)


@pytest.mark.parametrize(
    "line",
    [
        "2.0平台",
        "1.5倍以上的补贴",
        "2019年1月1日起施行",
        "10 万元以上的项目须报经审批，并按规定公示。",  # a bare number before a sentence
        "附件：三级公立医院绩效考核指标",  # d10: names the attachment, not a heading
        "附件1.docx",  # d40
        "专栏建设要加强",
    ],
)
def test_not_headings(line):
    assert heading_at(line) is None


def test_ranks_nest_outermost_first():
    order = [
        "附件",
        "编",
        "部分",
        "章",
        "节",
        "条",
        "一、",
        "(一)",
        "1.",
        "1.1",
        "1.1.1",
        "(1)",
        "①",
    ]
    assert [rank_of(k) for k in order] == sorted(rank_of(k) for k in order)


# --- the parser ------------------------------------------------------------------------------


def test_chapter_and_first_article_on_one_line_split_with_exact_offsets():
    line = "第一章　总则　　第一条　为了规范管理，制定本办法。本办法适用于本市。"
    tree = tree_of(line, "第二条　其他事项。", "第二章　附则", "第三条　本办法自印发之日起施行。")
    text = tree.doc.text
    assert text.split("\n")[1] == line  # the display text does not change
    chapter, first, second = tree.clauses[:3]
    assert (
        chapter.path_text == "第一章 总则"
        and text[chapter.start : chapter.start + 6] == "第一章　总则"
    )
    assert first.path == ("第一章 总则", "第一条") and first.parent == chapter.index
    assert text[first.start : first.end] == "第一条　为了规范管理，制定本办法。本办法适用于本市。"
    assert second.parent == chapter.index and chapter.end == second.end


def test_a_chapter_heading_alone_on_its_line_is_unchanged():
    tree = tree_of("第一章 总则", "第一条 为了规范管理，制定本办法。", "第二条 其他。")
    assert [c.path_text for c in tree.clauses] == [
        "第一章 总则",
        "第一章 总则 › 第一条",
        "第一章 总则 › 第二条",
    ]


def test_a_sentence_is_a_title_only_when_its_clause_goes_on():
    tree = tree_of(
        "一、加强领导。各单位要加强领导。", "二、完善制度。", "三、强化保障", "（一）落实经费。"
    )
    assert [c.path_text for c in tree.clauses] == [
        "一、加强领导",
        "二、",
        "三、强化保障",
        "三、强化保障 › （一）",
    ]


def test_an_annotation_alone_does_not_make_a_clause_go_on():
    tree = tree_of("1.推进结算。〔责任单位:区医保局〕", "2.强化交流。组织互访。", "3.其他事项。")
    assert [c.path_text for c in tree.clauses] == ["1.", "2.强化交流", "3."]


def test_run_in_article_headings_and_sentence_first_articles():
    """d39: “第三条 载体建设。” is a heading; a first sentence with commas or a long one is not."""
    tree = tree_of(
        "第一条 为全面落实规划纲要，制定本办法。",
        "第二条 本办法所称港澳青年，是指45周岁以下的居民。具体认定按有关规定执行。",
        "第三条 载体建设。被认定的孵化器给予补贴。",
        "第四条 国务院专利行政部门负责全国的专利代理管理工作。其他部门配合。",
    )
    assert [c.path_text for c in tree.clauses] == ["第一条", "第二条", "第三条 载体建设", "第四条"]


def test_attachment_list_items_are_not_headings():
    tree = tree_of(
        "一、总体要求",
        "正文。",
        "二、工作任务",
        "正文。",
        "附件：1.甲方案",
        "2.乙方案",
        "3.丙方案",
        "某单位",
        "附件1",
        "甲方案",
        "一、目标",
        "正文。",
    )
    assert [c.path_text for c in tree.clauses] == [
        "一、总体要求",
        "二、工作任务",
        "附件1",
        "附件1 › 一、目标",
    ]
    assert find_clauses(tree, "附件1")[0].title == "甲方案"


def test_an_attachment_list_under_a_bare_attachment_line_is_not_headings():
    tree = tree_of(
        "一、总体要求",
        "正文。",
        "二、工作任务",
        "正文。",
        "附件：",
        "1.甲方案",
        "2.乙方案",
        "三、其他",
        "正文。",
    )
    assert [c.path_text for c in tree.clauses] == ["一、总体要求", "二、工作任务", "三、其他"]


def test_decimal_numbering_nests():
    tree = tree_of(
        "1　总则",
        "1.1　目的",
        "正文。",
        "1.2　分级",
        "1.2.1　国家级",
        "正文。",
        "2　组织",
        "正文。",
    )
    assert [c.path_text for c in tree.clauses] == [
        "1 总则",
        "1 总则 › 1.1 目的",
        "1 总则 › 1.2 分级",
        "1 总则 › 1.2 分级 › 1.2.1 国家级",
        "2 组织",
    ]


def test_part_heading_keeps_its_colon_and_circled_and_box_items_nest():
    tree = tree_of(
        "第一部分：一类病种",
        "一、高血压病",
        "（一）诊断",
        "①诊断明确。",
        "②其他。",
        "专栏1 重大工程",
        "建设甲项目。",
        "（二）治疗",
        "正文。",
        "第二部分：二类病种",
        "一、慢阻肺",
        "正文。",
    )
    part, point = "第一部分：一类病种", "第一部分：一类病种 › 一、高血压病 › （一）诊断"
    assert [c.path_text for c in tree.clauses] == [
        part,
        f"{part} › 一、高血压病",
        point,
        f"{point} › ①",
        f"{point} › ②",
        f"{point} › 专栏1 重大工程",  # a box sits beside the clause it follows
        f"{part} › 一、高血压病 › （二）治疗",
        "第二部分：二类病种",
        "第二部分：二类病种 › 一、慢阻肺",
    ]


def test_traditional_articles_and_sections():
    tree = tree_of(
        "第一章　總則", "第一節　一般規定", "第一條　為了規範管理，制定本條例。", "第二條　其他。"
    )
    assert [c.kind for c in tree.clauses] == ["章", "节", "条", "条"]
    assert tree.clauses[2].path == ("第一章 總則", "第一節 一般規定", "第一條")


def test_unnumbered_heading_lines_may_contain_a_dun_comma():
    text = (
        "区里动态：本月社区工作简报，供各单位参阅\n党建、治理双提升\n社区开展了活动，群众反响良好。"
        "\n平安、法治建设\n开展普法活动。\n好，很好\n群众说。"
    )
    tree = parse_clauses(Document("x", "区里动态", text))
    assert [c.title for c in tree.clauses] == ["党建、治理双提升", "平安、法治建设"]


# --- lettered sections, schedules, contents, embedded documents, section lines ----------------


def paths(*lines: str, title: str = "某某办法") -> list[str]:
    text = "\n".join((title,) + lines)
    return [c.path_text for c in parse_clauses(Document("x", title, text)).clauses]


def test_lettered_sections_and_subsections_hold_numbered_paragraphs():
    found = paths(
        "A. 概論",
        "本指引為人員提供原則。",
        "2. 除另有所指外，詞語釋義相同。",
        "C. 訂明授權",
        "C1. 有關當局",
        "6. 有關當局如下——",
        "(a) 行政長官。",
        "7. 授權人員不得為申請人。",
    )
    assert found == [
        "A. 概論",
        "A. 概論 › 2.",
        "C. 訂明授權",
        "C. 訂明授權 › C1. 有關當局",
        "C. 訂明授權 › C1. 有關當局 › 6. 有關當局如下——",
        "C. 訂明授權 › C1. 有關當局 › 7.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "A. 申請人應當提交材料，並說明理由。",  # prose after the letter: a sentence, not a title
        "A.1 甲",
        "AB. 乙",
        "A.概論",  # no space after the letter's dot
        "B2B平台建设",
        "C919大飞机项目。",
    ],
)
def test_a_letter_that_does_not_open_a_title_line_is_not_a_heading(line):
    assert heading_at(line) is None or heading_at(line).kind not in ("A.", "A1.")


def test_a_schedule_number_opens_an_attachment_and_its_title_skips_a_reference_line():
    tree = tree_of(
        "第一条 甲。",
        "第二条 乙。",
        "第三条 丙。",
        "附表1",
        "[第2條]",
        "關於搜查的細則",
        "1. 釋義",
        "本附表中的詞語。",
    )
    schedule = next(c for c in tree.clauses if c.label == "附表1")
    assert schedule.kind == "附件" and schedule.title == "關於搜查的細則"
    assert [c.path_text for c in tree.clauses][-1] == "附表1 › 1. 釋義"


def test_contents_entries_are_not_headings_and_the_body_starts_where_they_repeat():
    found = paths(
        "目　　录",
        "1　总则",
        "1.1　编制目的",
        "2　组织机构",
        "1　总则",
        "1.1　编制目的",
        "为了有效应对。",
        "2　组织机构",
        "指挥部负责。",
        "3　预警",
        "加强监测。",
    )
    assert found == ["1 总则", "1 总则 › 1.1 编制目的", "2 组织机构", "3 预警"]


def test_a_contents_line_without_entries_does_not_hide_the_headings_after_it():
    long = "本办法根据有关法律法规制定，适用于本市行政区域内的各类单位和个人，自发布之日起施行。"
    found = paths("目录", long, "一、总则", "甲。", "二、职责", "乙。", "三、附则", "丙。")
    assert found == ["一、总则", "二、职责", "三、附则"]


def test_the_name_of_a_document_it_issues_heads_that_document():
    found = paths(
        "各区人民政府：",
        "现将《甲市乙办法》印发给你们，请认真贯彻执行。",
        "甲市人民政府",
        "甲市乙办法",
        "第一章 总则",
        "第一条 为了规范。",
        "第二条 本办法适用于本市。",
        title="甲市人民政府关于印发甲市乙办法的通知",
    )
    assert found[:3] == [
        "甲市乙办法",
        "甲市乙办法 › 第一章 总则",
        "甲市乙办法 › 第一章 总则 › 第一条",
    ]


def test_a_booklet_of_laws_has_one_top_clause_per_law_and_a_repeated_name_opens_none():
    found = paths(
        "甲国人民共和国宪法",
        "第一章 总纲",
        "第一条 甲。",
        "乙特别行政区基本法",
        "乙特别行政区基本法*",
        "第一章 总则",
        "第一条 乙。",
        title="甲国人民共和国宪法 乙特别行政区基本法",
    )
    assert [p for p in found if " › " not in p] == ["甲国人民共和国宪法", "乙特别行政区基本法"]
    assert "乙特别行政区基本法 › 第一章 总则 › 第一条" in found


@pytest.mark.parametrize(
    "line",
    [
        "丙市丁办法",  # ends like a name, but neither the title nor a 《…》 names it
        "一、实施方案",  # a numbered heading
        "关于做好相关工作的意见，请认真落实",  # punctuation: a sentence
    ],
)
def test_lines_that_are_not_the_name_of_an_issued_document_head_no_document(line):
    text = "\n".join(
        (
            "关于印发甲市乙办法的通知",
            "现将《甲市乙办法》印发给你们。",
            line,
            "一、总则",
            "甲。",
            "二、职责",
            "乙。",
        )
    )
    tree = parse_clauses(Document("x", "关于印发甲市乙办法的通知", text))
    assert all(c.kind != "文件" for c in tree.clauses)


def test_an_attachment_title_is_not_taken_for_an_issued_document():
    found = paths(
        "现将《甲市乙办法》印发给你们。",
        "附件1",
        "甲市乙办法",
        "一、总则",
        "甲。",
        "二、职责",
        "乙。",
        title="关于印发甲市乙办法的通知",
    )
    assert found[:2] == ["附件1", "附件1 › 一、总则"]


def test_a_short_line_over_a_numbering_that_starts_again_is_a_section():
    found = paths(
        "为促进就业，推出以下政策清单。",
        "面向单位的扶持政策",
        "一、社保补贴",
        "补贴内容。",
        "二、扩岗补助",
        "补助内容。",
        "面向毕业生的扶持政策",
        "一、求职补贴",
        "补贴内容。",
    )
    assert found == [
        "面向单位的扶持政策",
        "面向单位的扶持政策 › 一、社保补贴",
        "面向单位的扶持政策 › 二、扩岗补助",
        "面向毕业生的扶持政策",
        "面向毕业生的扶持政策 › 一、求职补贴",
    ]


@pytest.mark.parametrize(
    "line",
    ["2023年8月9日", "（2018年修订）", "鑑於——", "现提出如下意见：", "各区人民政府，市政府各部门"],
)
def test_dates_remarks_and_lead_ins_over_a_first_item_are_not_sections(line):
    found = paths("正文说明。", line, "第一条 甲。", "第二条 乙。", "第三条 丙。")
    assert found == ["第一条", "第二条", "第三条"]


def test_a_short_line_over_a_later_item_is_not_a_section():
    assert paths("一、总则", "甲。", "补充说明", "二、职责", "乙。", "三、附则", "丙。") == [
        "一、总则",
        "二、职责",
        "三、附则",
    ]


def test_an_unnumbered_letter_has_no_headings_from_its_title_block_or_signature():
    text = "甲局关于某事的答复\n甲函〔2006〕71号\n乙代表：\n你提出的建议收悉，现答复如下。\n甲局\n二〇〇六年九月七日"
    assert parse_clauses(Document("x", "甲局关于某事的答复", text)).clauses == ()


def test_short_lines_between_paragraphs_of_an_unnumbered_text_stay_headings():
    text = "甲局关于某事的答复\n前言说明，正文。\n工作进展\n开展了活动。\n下一步打算\n继续推进。"
    tree = parse_clauses(Document("x", "甲局关于某事的答复", text))
    assert [c.title for c in tree.clauses] == ["工作进展", "下一步打算"]


# --- dev documents, one spot check per kind ----------------------------------------------------


def test_d01_first_item_path_and_its_responsibility(dev_tree):
    tree = dev_tree("d01")
    item = next(c for c in tree.clauses if c.label == "1.")
    assert item.path == ("四、主要任务", "（一）统筹两个市场，打造加工制造中心", "1.拓展两个市场")
    (note,) = tree.responsibilities_in(item.start, item.end)
    assert note.lead == ("税务总局",) and note.participants == ("财政部", "海关总署")


def test_d12_chapters_and_articles(dev_tree):
    tree = dev_tree("d12")
    chapters = [c for c in tree.clauses if c.kind == "章"]
    assert len(chapters) >= 5 and all(c.parent is None for c in chapters)
    articles = [c for c in tree.clauses if c.kind == "条"]
    assert all(tree.clauses[a.parent].kind == "章" for a in articles)
    assert articles[0].path[-1] == "第一条" and articles[0].path[0].startswith("第一章")


def test_d14_decimal_numbering_under_the_plan_it_issues_and_no_contents_entries(dev_tree):
    paths = [c.path_text for c in dev_tree("d14").clauses]
    assert "国家粮食应急预案 › 1 总则 › 1.2 等级划分 › 1.2.1 国家级（Ⅰ级）" in paths
    assert "国家粮食应急预案 › 1 总则 › 1.4 工作原则 › （1）统一领导、分级负责" in paths
    assert sum(p.endswith(" › 1 总则") for p in paths) == 1  # the 目录 lists it once more


def test_d15_attachment_list_then_attachments(dev_tree):
    assert [c.path_text for c in dev_tree("d15").clauses][:2] == ["附件1", "附件1 › 一、基本情况"]


def test_d45_parts_inside_an_attachment(dev_tree):
    paths = [c.path_text for c in dev_tree("d45").clauses]
    assert "附件2 › 第一部分：一类门诊特定病种 › 一、高血压病" in paths
    assert any(p.startswith("附件2 › 第二部分：二类门诊特定病种 › ") for p in paths)


def test_d34_article_point_item_subitem_nesting(dev_tree):
    tree = dev_tree("d34")
    deep = [c for c in tree.clauses if c.kind == "(1)"]
    assert deep, "no （1） items"
    kinds = [tree.clauses[i].kind for i in _ancestors(tree, deep[0])]
    assert kinds == ["文件", "章", "条", "(一)", "1."]


def test_d39_run_in_article_headings(dev_tree):
    paths = [c.path_text for c in dev_tree("d39").clauses]
    assert paths[:4] == ["第一条", "第二条", "第三条 载体建设", "第四条 平台服务"]


def _ancestors(tree, clause) -> list[int]:
    out = []
    while clause.parent is not None:
        out.insert(0, clause.parent)
        clause = tree.clauses[clause.parent]
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "第一章　总则　　第一条　甲。",
                "第二条 乙。",
                "一、甲",
                "（一）乙。丙。",
                "1.丁",
                "1.1　戊",
                "1﹒己",
                "①庚。",
                "专栏1 辛",
                "附件",
                "附件：1.甲",
                "2.乙",
                "正文，正文。",
                "（甲局负责）",
                "第一部分：壬",
                "A. 概論",
                "C1. 有關當局",
                "目　录",
                "某某办法",
                "面向单位的政策",
                "附表1",
                "[第2條]",
            ]
        ),
        max_size=12,
    )
)
def test_any_outline_is_well_formed(lines):
    tree = tree_of(*lines)
    n = len(tree.doc.text)
    for c in tree.clauses:
        assert 0 <= c.start < c.end <= n
        if c.parent is not None:
            parent = tree.clauses[c.parent]
            assert parent.index < c.index and parent.start <= c.start and c.end <= parent.end
            assert c.path[:-1] == parent.path


def test_a_hard_wrapped_heading_with_a_dun_comma_is_not_joined_to_the_next_line():
    lines = ["（一）党建、治理双提升", "各社区要加强。", "二、平安建设", "开展普法。"]
    assert rag.normalize.join_paragraphs(lines) == lines
