"""Headings (rag/headings.py) and the outlines rag.clauses builds from them: each pattern on
synthetic lines and on lines copied from the dev documents, negatives included, then spot checks
of ``parse_clauses`` on dev documents of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rag.clauses
import rag.headings
import rag.normalize
from rag.clauses import find_clauses, parse_clauses
from rag.headings import heading_at, rank_of
from rag.normalize import read_document
from rag.types import Document

DEV = Path(__file__).resolve().parent.parent / "eval" / "dev" / "corpus"


def tree_of(*lines: str):
    text = "\n".join(("某某办法",) + lines)
    return parse_clauses(Document("x", "某某办法", text))


def dev_tree(prefix: str):
    (path,) = DEV.glob(f"{prefix}_*")
    return parse_clauses(read_document(path))


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
    assert [c.path_text for c in tree.clauses] == ["第一章 总则", "第一章 总则 › 第一条",
                                                   "第一章 总则 › 第二条"]  # fmt: skip


def test_a_sentence_is_a_title_only_when_its_clause_goes_on():
    tree = tree_of(
        "一、加强领导。各单位要加强领导。", "二、完善制度。", "三、强化保障", "（一）落实经费。"
    )
    assert [c.path_text for c in tree.clauses] == ["一、加强领导", "二、", "三、强化保障",
                                                   "三、强化保障 › （一）"]  # fmt: skip


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
    tree = tree_of("一、总体要求", "正文。", "二、工作任务", "正文。", "附件：1.甲方案", "2.乙方案",
                   "3.丙方案", "某单位", "附件1", "甲方案", "一、目标", "正文。")  # fmt: skip
    assert [c.path_text for c in tree.clauses] == ["一、总体要求", "二、工作任务", "附件1",
                                                   "附件1 › 一、目标"]  # fmt: skip
    assert find_clauses(tree, "附件1")[0].title == "甲方案"


def test_an_attachment_list_under_a_bare_attachment_line_is_not_headings():
    tree = tree_of("一、总体要求", "正文。", "二、工作任务", "正文。", "附件：", "1.甲方案", "2.乙方案",
                   "三、其他", "正文。")  # fmt: skip
    assert [c.path_text for c in tree.clauses] == ["一、总体要求", "二、工作任务", "三、其他"]


def test_decimal_numbering_nests():
    tree = tree_of("1　总则", "1.1　目的", "正文。", "1.2　分级", "1.2.1　国家级", "正文。", "2　组织",
                   "正文。")  # fmt: skip
    assert [c.path_text for c in tree.clauses] == [
        "1 总则", "1 总则 › 1.1 目的", "1 总则 › 1.2 分级", "1 总则 › 1.2 分级 › 1.2.1 国家级",
        "2 组织",
    ]  # fmt: skip


def test_part_heading_keeps_its_colon_and_circled_and_box_items_nest():
    tree = tree_of("第一部分：一类病种", "一、高血压病", "（一）诊断", "①诊断明确。", "②其他。",
                   "专栏1 重大工程", "建设甲项目。", "（二）治疗", "正文。", "第二部分：二类病种",
                   "一、慢阻肺", "正文。")  # fmt: skip
    part, point = "第一部分：一类病种", "第一部分：一类病种 › 一、高血压病 › （一）诊断"
    assert [c.path_text for c in tree.clauses] == [
        part, f"{part} › 一、高血压病", point, f"{point} › ①", f"{point} › ②",
        f"{point} › 专栏1 重大工程",  # a box sits beside the clause it follows
        f"{part} › 一、高血压病 › （二）治疗", "第二部分：二类病种", "第二部分：二类病种 › 一、慢阻肺",
    ]  # fmt: skip


def test_traditional_articles_and_sections():
    tree = tree_of(
        "第一章　總則", "第一節　一般規定", "第一條　為了規範管理，制定本條例。", "第二條　其他。"
    )
    assert [c.kind for c in tree.clauses] == ["章", "节", "条", "条"]
    assert tree.clauses[2].path == ("第一章 總則", "第一節 一般規定", "第一條")


def test_unnumbered_heading_lines_may_contain_a_dun_comma():
    text = ("区里动态：本月社区工作简报，供各单位参阅\n党建、治理双提升\n社区开展了活动，群众反响良好。"
            "\n平安、法治建设\n开展普法活动。\n好，很好\n群众说。")  # fmt: skip
    tree = parse_clauses(Document("x", "区里动态", text))
    assert [c.title for c in tree.clauses] == ["党建、治理双提升", "平安、法治建设"]


# --- dev documents, one spot check per kind ----------------------------------------------------


def test_d01_first_item_path_and_its_responsibility():
    tree = dev_tree("d01")
    item = next(c for c in tree.clauses if c.label == "1.")
    assert item.path == ("四、主要任务", "（一）统筹两个市场，打造加工制造中心", "1.拓展两个市场")
    (note,) = tree.responsibilities_in(item.start, item.end)
    assert note.lead == ("税务总局",) and note.participants == ("财政部", "海关总署")


def test_d12_chapters_and_articles():
    tree = dev_tree("d12")
    chapters = [c for c in tree.clauses if c.kind == "章"]
    assert len(chapters) >= 5 and all(c.parent is None for c in chapters)
    articles = [c for c in tree.clauses if c.kind == "条"]
    assert all(tree.clauses[a.parent].kind == "章" for a in articles)
    assert articles[0].path[-1] == "第一条" and articles[0].path[0].startswith("第一章")


def test_d14_decimal_numbering_under_the_plan_it_issues_and_no_contents_entries():
    paths = [c.path_text for c in dev_tree("d14").clauses]
    assert "国家粮食应急预案 › 1 总则 › 1.2 等级划分 › 1.2.1 国家级（Ⅰ级）" in paths
    assert "国家粮食应急预案 › 1 总则 › 1.4 工作原则 › （1）统一领导、分级负责" in paths
    assert sum(p.endswith(" › 1 总则") for p in paths) == 1  # the 目录 lists it once more


def test_d15_attachment_list_then_attachments():
    assert [c.path_text for c in dev_tree("d15").clauses][:2] == ["附件1", "附件1 › 一、基本情况"]


def test_d45_parts_inside_an_attachment():
    paths = [c.path_text for c in dev_tree("d45").clauses]
    assert "附件2 › 第一部分：一类门诊特定病种 › 一、高血压病" in paths
    assert any(p.startswith("附件2 › 第二部分：二类门诊特定病种 › ") for p in paths)


def test_d34_article_point_item_subitem_nesting():
    tree = dev_tree("d34")
    deep = [c for c in tree.clauses if c.kind == "(1)"]
    assert deep, "no （1） items"
    kinds = [tree.clauses[i].kind for i in _ancestors(tree, deep[0])]
    assert kinds == ["文件", "章", "条", "(一)", "1."]


def test_d39_run_in_article_headings():
    paths = [c.path_text for c in dev_tree("d39").clauses]
    assert paths[:4] == ["第一条", "第二条", "第三条 载体建设", "第四条 平台服务"]


def _ancestors(tree, clause) -> list[int]:
    out = []
    while clause.parent is not None:
        out.insert(0, clause.parent)
        clause = tree.clauses[clause.parent]
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["第一章　总则　　第一条　甲。", "第二条 乙。", "一、甲", "（一）乙。丙。",
                                 "1.丁", "1.1　戊", "1﹒己", "①庚。", "专栏1 辛", "附件", "附件：1.甲",
                                 "2.乙", "正文，正文。", "（甲局负责）", "第一部分：壬"]),
                max_size=12))  # fmt: skip
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
