from __future__ import annotations

from dataclasses import replace

import pytest

from rag.clauses import bare_heading, find_clauses, parse_clauses
from rag.types import ClauseTree, Document
from rag.zh import sentence_spans


def paths(tree: ClauseTree) -> list[str]:
    return [c.path_text for c in tree.clauses]


def only(tree: ClauseTree, query: str):
    found = find_clauses(tree, query)
    assert len(found) == 1, [c.path_text for c in found]
    return found[0]


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ("000", "二、工作制度 › 3、建立完善结对共建制度"),
        ("000", "三、工作内容 › （一）经济发展联动 › 2、加快澥浦集镇商贸中心的建设"),
        ("000", "三、工作内容 › （五）党建联动 › 16、深化村企结对"),
        ("000", "四、组织保障 › （二）落实经费保障"),
        ("002", "三、重点任务 › (一)坚持党建引领,实施治理体系增效计划 › 1.组织体系坚强有力"),
        (
            "002",
            "三、重点任务 › (一)坚持党建引领,实施治理体系增效计划 › 1.组织体系坚强有力"
            " › 二是深化产业党组织建设",
        ),
        ("002", "三、重点任务 › (三)筑牢安全基石,实施安全稳定强基计划 › 4.劳动关系和谐稳定"),
        ("002", "四、组织保障 › (四)完善考核激励机制"),
        ("003", "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"),
        ("003", "附件1 › 二、重点任务 › (一)加强组织领导 › 2.强化互访交流"),
        ("003", "附件2 › 二、工作要点 › (三)完善基础设施和基本公共服务 › 3.推动社会事业融合共享"),
        ("003", "附件2 › 三、保障措施 › 2.加强对接交流"),
        ("003", "附件3"),
        ("001", "强根铸魂促发展 › 建立链上产业党委"),
        ("001", "“三举措”扎实做好安全生产工作"),
        ("001", "爱心涌现 无偿献血"),
        ("004", "強化服務供給 黨群服務優質共享"),
    ],
)
def test_known_clause_paths(trees, doc: str, path: str):
    assert path in paths(trees[doc])


def test_clause_spans_cover_their_text(trees):
    tree = trees["003"]
    item = only(tree, "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算")
    assert tree.doc.text[item.start : item.end] == (
        "16.医保跨省结算。发挥江北区异地就医门诊直接结算的优势,"
        "推进江北黄州异地就医医保直接结算。〔责任单位:区医保局〕"
    )
    assert item.label == "16." and item.title == "医保跨省结算" and item.kind == "1."
    parent = tree.clauses[item.parent]
    assert parent.path_text == "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务"
    assert parent.start < item.start and item.end <= parent.end


def test_attachment_title_is_kept_on_the_attachment_clause(trees):
    annex = only(trees["003"], "附件1")
    assert annex.title == "2023年江北区与黄州区(大别山革命老区)对口合作工作计划及任务分解"
    assert only(trees["003"], "附件3").title == "区绩效考评单位名单"


def test_numbering_restarts_inside_each_attachment(trees):
    found = [c.path_text for c in find_clauses(trees["003"], "1.强化研究部署")]
    assert found == ["附件1 › 二、重点任务 › (一)加强组织领导 › 1.强化研究部署"]
    firsts = [c.path_text for c in trees["003"].clauses if c.label == "1."]
    assert any(p.startswith("附件2 › 二、工作要点 › (一)") for p in firsts)


def test_item_2_of_annex_1_has_one_unit_list_per_sentence(trees):
    tree = trees["003"]
    item = only(tree, "附件1 › 二、重点任务 › (一)加强组织领导 › 2.强化互访交流")
    notes = tree.responsibilities_in(item.start, item.end)
    assert [(r.lead, r.participants) for r in notes] == [
        (("区委办公室", "区政府办公室"), ()),
        (("区人大常委会办公室", "区政协办公室", "其他区领导所在单位办公室"), ()),
        (("区委组织部", "区人力社保局"), ()),
    ]
    text = tree.doc.text
    covered = [text[r.start : r.end] for r in notes]
    assert covered[0].startswith("2.强化互访交流。党委或政府领导率团到黄州区调研")
    assert covered[0].endswith("部署推动革命老区对口合作工作。")
    assert covered[1] == "按区委统一部署,组织好区领导赴黄州区的考察调研活动。"
    assert covered[2].startswith("建立江北-黄州互派干部人才交流机制")
    assert text[notes[2].note_start : notes[2].note_end] == "〔责任单位:区委组织部、区人力社保局〕"


def test_002_annotation_covers_the_whole_item_including_its_points(trees):
    tree = trees["002"]
    item = only(tree, "三、重点任务 › (一)坚持党建引领,实施治理体系增效计划 › 1.组织体系坚强有力")
    point = only(tree, "1.组织体系坚强有力 › 二是深化产业党组织建设")
    notes = tree.responsibilities_in(point.start, point.end)
    assert len(notes) == 1
    note = notes[0]
    assert note.start == item.start and note.note_end == item.end
    assert note.lead == ("人社局", "社管局(综合治理中心)")
    assert note.participants == ("经促局", "规建局", "各城市管理办事处", "国创投资集团")


def test_002_participating_departments_variant(trees):
    tree = trees["002"]
    item = only(tree, "(三)筑牢安全基石,实施安全稳定强基计划 › 4.劳动关系和谐稳定")
    (note,) = tree.responsibilities_in(item.start, item.end)
    assert note.lead == ("人社局",)
    assert "综保区管理局" in note.participants


def test_documents_without_annotations_have_none(trees):
    assert trees["000"].responsibilities == () and trees["004"].responsibilities == ()


def test_units_with_nested_brackets_and_mixed_separators(trees):
    tree = trees["003"]
    item = only(tree, "附件2 › 二、工作要点 › (二)推进乡村振兴和新型城镇化 › 2.持续创新消费帮扶")
    last = tree.responsibilities_in(item.start, item.end)[-1]
    assert last.lead == (
        "区商务局",
        "区市场监管局",
        "区总工会",
        "区机关事务局",
        "区财政局(区国资中心)",
        "各街道(镇)",
    )


def test_clause_at_finds_the_deepest_clause(trees):
    tree = trees["002"]
    offset = tree.doc.text.index("完成超大型社区拆分")
    assert tree.clause_at(offset).title == "夯实社区党组织基础"


def test_line_annotation_and_chapter_articles():
    text = "某某办法\n第一章 总则\n第一条 为了规范管理，制定本办法。\n责任单位：区医保局\n第二条 其他。"
    tree = parse_clauses(Document("x", "某某办法", text))
    # one-sentence articles are content, not headings: their path is the number alone
    assert [c.path_text for c in tree.clauses] == [
        "第一章 总则",
        "第一章 总则 › 第一条",
        "第一章 总则 › 第二条",
    ]
    (note,) = tree.responsibilities
    assert note.lead == ("区医保局",)
    assert text[note.start : note.end] == "第一条 为了规范管理，制定本办法。\n"


def test_find_clauses_by_tail_and_label(trees):
    assert only(trees["003"], "(四)完善基础设施和基本公共服务 › 16.医保跨省结算").label == "16."
    assert only(trees["003"], "16.").title == "医保跨省结算"
    assert find_clauses(trees["003"], "不存在的条款") == []


def test_a_one_sentence_item_is_content_not_a_bare_heading():
    """Answers and chunks skip a sentence only when it is a heading its clause goes on after."""
    text = "某某方案\n1.强化交流。组织互访。\n2.推进结算。〔责任单位:区医保局〕\n3.加强合作。"
    tree = parse_clauses(Document("x", "某某方案", text))
    first, second, third = tree.clauses
    spans = {tree.doc.text[s:e]: (s, e) for s, e in sentence_spans(text)}
    assert bare_heading(text, first, *spans["1.强化交流。"])
    assert not bare_heading(text, first, *spans["组织互访。"])
    assert not bare_heading(text, second, *spans["2.推进结算。〔责任单位:区医保局〕"])
    assert not bare_heading(text, third, *spans["3.加强合作。"])
    # a clause titled by an older parser still keeps its only sentence
    old = replace(third, title="加强合作", path=("3.加强合作",))
    assert not bare_heading(text, old, *spans["3.加强合作。"])


def test_a_heading_written_with_full_width_spaces_is_still_its_clause_heading():
    text = "某某办法\n第一章　总　则\n第一条　为了规范管理，制定本办法。\n第二条　其他。\n第三条　施行。"
    tree = parse_clauses(Document("x", "某某办法", text))
    chapter = tree.clauses[0]
    assert chapter.path == ("第一章 总　则",)
    s = text.index("第一章")
    assert bare_heading(text, chapter, s, s + len("第一章　总　则"))
