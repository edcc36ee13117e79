from __future__ import annotations

import pytest

from rag.chunk import chunk_tree, passage_text
from rag.zh import fold, sentence_spans


@pytest.mark.parametrize("max_tokens", [48, 128, 256, 512])
def test_every_chunk_is_within_the_token_limit(trees, count_tokens, max_tokens):
    for tree in trees.values():
        chunks = chunk_tree(tree, count_tokens, max_tokens=max_tokens)
        assert chunks
        for c in chunks:
            assert c.token_count == count_tokens(c.text) <= max_tokens
            assert c.text == tree.doc.text[c.start : c.end]


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_chunks_cover_every_sentence_of_body_text(trees, count_tokens, max_tokens):
    """No text is lost: each sentence (bare heading lines aside) lies inside some chunk."""
    for tree in trees.values():
        chunks = chunk_tree(tree, count_tokens, max_tokens=max_tokens)
        headings = {c.path[-1] for c in tree.clauses}
        for s, e in sentence_spans(tree.doc.text):
            sentence = tree.doc.text[s:e]
            if sentence.rstrip("。") in headings:
                continue
            # inside one chunk, or (a sentence longer than the limit) cut across several
            covered = sum(
                min(e, c.end) - max(s, c.start) for c in chunks if c.start < e and s < c.end
            )
            assert covered >= e - s, sentence


def test_item_16_is_its_own_chunk_with_path_units_and_context(trees, count_tokens):
    chunks = chunk_tree(trees["003"], count_tokens)
    (item,) = [c for c in chunks if c.text.startswith("16.医保跨省结算")]
    assert (
        item.clause_path
        == "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"
    )
    assert item.title == "2023年江北区与黄州区(大别山革命老区)对口合作工作计划及任务分解"
    assert [u.lead for u in item.units] == [("区医保局",)]
    assert item.doc_id == trees["003"].doc.doc_id
    text = passage_text(item)
    assert text.startswith(fold(item.title) + " 附件1 › 二、重点任务")
    assert text.endswith("〔责任单位:区医保局〕")


def test_oversized_clause_is_split_at_sentence_ends_with_one_sentence_overlap(trees, count_tokens):
    tree = trees["003"]
    chunks = [c for c in chunk_tree(tree, count_tokens) if c.clause_path.endswith("2.强化互访交流")]
    assert len(chunks) == 2
    first, second = chunks
    assert first.text.endswith(
        "〔责任单位:区人大常委会办公室、区政协办公室、其他区领导所在单位办公室〕"
    )
    assert second.text.startswith("按区委统一部署")  # the overlapping sentence
    assert second.start < first.end


def test_small_siblings_are_packed_under_their_parent(trees, count_tokens):
    chunks = chunk_tree(trees["003"], count_tokens, max_tokens=256, merge_below=80)
    packed = [c for c in chunks if "–" in c.clause_path]
    assert packed, "items under 80 tokens should be packed together"
    for c in packed:
        assert c.clause_path.startswith("附件") and c.token_count <= 256
        assert c.text.count("〔责任单位") >= 2


def test_chunk_ids_are_stable_and_unique(trees, count_tokens):
    first = [c.chunk_id for t in trees.values() for c in chunk_tree(t, count_tokens)]
    again = [c.chunk_id for t in trees.values() for c in chunk_tree(t, count_tokens)]
    assert first == again and len(set(first)) == len(first)


def test_bare_heading_lines_do_not_become_chunks(trees, count_tokens):
    for tree in trees.values():
        for c in chunk_tree(tree, count_tokens):
            assert c.text.strip() not in {cl.path[-1] for cl in tree.clauses}


def test_a_traditional_passage_is_indexed_and_embedded_in_its_simplified_form():
    """BM25 terms and vectors of a Hong Kong document are those of its simplified twin, so a
    question in either script finds it; the display text keeps its own script."""
    from rag.types import Chunk

    def chunk(title: str, path: str, text: str) -> Chunk:
        return Chunk("d#0", "d", title, path, 0, len(text), text, (), 0)

    traditional = chunk("醫療保障辦法", "第3條 › (2)", "區醫保局須於30日內辦結異地就醫結算。")
    simplified = chunk("医疗保障办法", "第3条 › (2)", "区医保局须于30日内办结异地就医结算。")
    assert passage_text(traditional) == passage_text(simplified)
    assert "醫" not in passage_text(traditional) and traditional.text.startswith("區醫保局")
    other = chunk("医疗保障办法", "第3条 › (2)", "区医保局须于60日内办结异地就医结算。")
    assert passage_text(other) != passage_text(simplified)  # folding is not blurring
