from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluate import (
    BadGold,
    GoldItem,
    below_thresholds,
    by_corpus,
    by_kind,
    document_kind,
    judge,
    load_gold,
    load_golds,
    metrics,
    misses_by_document,
    short_right,
)
from rag.types import Answer, Chunk, Citation, Hit

from .conftest import REPO

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"
GOLD = GoldItem(
    "t1",
    "responsibility",
    "谁负责医保跨省结算？",
    ("区医保局",),
    "推进江北黄州异地就医医保直接结算",
    {"doc_id": "d", "path": ITEM_16},
)
REFUSE = GoldItem("t2", "unanswerable", "专项资金多少万元？", (), None, None)
PASSAGE = "16.医保跨省结算。推进江北黄州异地就医医保直接结算。〔责任单位:区医保局〕"


def answer(
    text: str, found: bool, passage: str = PASSAGE, path: str = ITEM_16, short: dict | None = None
) -> Answer:
    """An answer whose short answer is, unless given, the text before its 依据 (None if refused)."""
    chunk = Chunk("d#1", "d", "标题", path, 0, len(passage), passage, (), 40)
    cite = Citation("d", "标题", path, passage, 0, len(passage), 1.0, (), passage)
    if short is None and found:
        short = {"text": text.split("。依据")[0]}
    return Answer(
        "q", text, found, "responsibility", (cite,), 12.0, (Hit(chunk, 1, 1.0),), short_answer=short
    )


def test_judge_right_answer():
    j = judge(GOLD, answer("区医保局。依据：…", True))
    assert (j.correct, j.cited, j.clause_ok, j.rank) == (True, True, True, 1)


def test_judge_compares_folded_text():
    j = judge(GOLD, answer("區醫保局", True))
    assert j.correct


def test_judge_wrong_or_refused_answers():
    assert not judge(GOLD, answer("区卫健局", True)).correct
    refused = judge(GOLD, answer("未在已收录的政策文件中找到相关规定。", False))
    assert not refused.correct and refused.cited  # the related passage still holds the evidence
    elsewhere = judge(GOLD, answer("区医保局", True, passage="别的条款", path="附件2 › 1."))
    assert elsewhere.correct and not elsewhere.cited and not elsewhere.clause_ok
    assert elsewhere.rank is None


def test_metrics_and_refusals():
    judged = [
        judge(GOLD, answer("区医保局", True)),
        judge(GOLD, answer("未找到", False)),
        judge(REFUSE, answer("未找到", False)),
        judge(REFUSE, answer("300万元", True)),
    ]
    m = metrics(judged)
    assert m["answer_accuracy"] == 0.5 and m["citation_accuracy"] == 1.0
    assert m["refusal_precision"] == 0.5  # 2 refused, 1 of them unanswerable
    assert m["refusal_recall"] == 0.5  # 2 unanswerable, 1 refused
    assert m["hit@1"] == 1.0 and m["mrr"] == 1.0
    assert m["overall_accuracy"] == 0.5 and m["latency_p50_ms"] == 12.0


def test_strict_accuracy_reads_the_short_answer_lenient_reads_the_whole_answer():
    # the unit is named only in the quoted basis, not in the short answer
    j = judge(
        GOLD,
        answer(
            "区卫健局。依据：“…〔责任单位:区医保局〕”",
            True,
            short={"lead": ["区卫健局"], "participants": []},
        ),
    )
    assert not j.correct and j.correct_lenient
    m = metrics([j, judge(GOLD, answer("区医保局", True))])
    assert m["answer_accuracy"] == 0.5 and m["answer_accuracy_lenient"] == 1.0


def test_gold_lead_units_must_be_in_the_short_answers_lead():
    item = GoldItem(
        "t3",
        "responsibility",
        "谁牵头？",
        ("甲局",),
        "证据",
        None,
        {"lead": ["甲局"], "participants": ["乙局"]},
    )
    assert short_right(item, {"lead": ["甲局"], "participants": ["乙局"]})
    assert short_right(item, {"lead": ["甲局", "乙局"], "participants": []})  # either list
    assert not short_right(item, {"lead": ["乙局"], "participants": ["甲局"]})  # lead swapped
    assert not short_right(item, {"text": "由甲局牵头，乙局配合"})  # no lead at all
    assert not short_right(item, None)
    figure = GoldItem("t4", "figure", "多少？", ("5万元",), "证据", None, {"value": "5万元"})
    assert short_right(figure, {"value": "5万元"}) and not short_right(figure, {"value": "5"})


def test_dev_gold_lines_load_with_their_split_and_corpus(tmp_path: Path):
    rows = [
        {"id": "a1", "doc": "d01", "type": "list", "question": "有哪几类中心？", "must": ["甲中心"],
         "short": {"items": ["甲中心", "乙中心"]}, "evidence": "甲中心、乙中心",
         "clause": {"doc_id": "d01", "path": "一、"}},
        {"id": "a2", "doc": "d02", "type": "unanswerable", "question": "补贴多少万元？",
         "must": [], "short": None, "evidence": None, "clause": None},
    ]  # fmt: skip
    gold = tmp_path / "dev" / "gold.jsonl"
    gold.parent.mkdir()
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    (gold.parent / "splits.json").write_text('{"calibration": ["d01"], "heldout": ["d02"]}')
    items = load_gold(gold)
    assert [(i.corpus, i.doc_id, i.short) for i in items] == [
        ("dev calibration", "d01", {"items": ["甲中心", "乙中心"]}),
        ("dev heldout", "d02", None),
    ]
    assert [i.id for i in load_gold(gold, "heldout")] == ["a2"]
    with pytest.raises(BadGold, match="unknown split"):
        load_gold(gold, "test")
    bundled = load_golds([REPO / "eval" / "gold.jsonl", gold], "calibration")
    assert {i.corpus for i in bundled} == {"bundled", "dev calibration"}
    with pytest.raises(BadGold, match="appears twice"):
        load_golds([gold, gold])


def test_metrics_by_corpus_and_document_kind():
    other = GoldItem(
        "t5", "fact", "问", ("三",), "证", {"doc_id": "e", "path": ""}, corpus="dev heldout"
    )
    titles = {"d": "关于印发对口合作工作计划的通知", "e": "某某管理办法（试行）"}
    assert [document_kind(i, titles) for i in (GOLD, other, REFUSE)] == [
        "通知",
        "管理办法",
        "（无）",
    ]
    judged = [
        judge(GOLD, answer("区医保局", True), "通知"),
        judge(other, answer("二", True), "办法"),
    ]
    assert {k: m["answer_accuracy"] for k, m in by_corpus(judged).items()} == {
        "bundled": 1.0,
        "dev heldout": 0.0,
    }
    assert {k: m["questions"] for k, m in by_kind(judged).items()} == {"通知": 1, "办法": 1}
    assert list(misses_by_document(judged)) == ["e"]


def test_threshold_check():
    assert below_thresholds({"answer_accuracy": 0.95}, {"answer_accuracy": 0.9}) == []
    assert below_thresholds({"answer_accuracy": 0.85}, {"answer_accuracy": 0.9}) == [
        "answer_accuracy 0.85 < 0.9"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "gold.jsonl:1: not JSON"),
        ('{"id": "a"}\n', "missing type, question, must, evidence, clause"),
        (
            '{"id":"a","type":"x","question":"问","must":["甲"],"evidence":null,"clause":null}',
            "unanswerable items",
        ),
        (
            '{"id":"a","type":"x","question":" ","must":[],"evidence":null,"clause":null}',
            "non-empty",
        ),
        ("\n\n", "holds no questions"),
        (
            '{"id":"a","type":"x","question":"问","must":["甲"],"evidence":"甲","clause":null,'
            '"short":["甲"]}',
            "short must be",
        ),
    ],
)
def test_malformed_gold_lines_are_reported(tmp_path: Path, content: str, message: str):
    path = tmp_path / "gold.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadGold, match=message):
        load_gold(path)


def test_bundled_gold_set_is_well_formed():
    items = load_gold(REPO / "eval" / "gold.jsonl")
    assert len(items) >= 80
    counts = {t: sum(i.type == t for i in items) for t in {i.type for i in items}}
    assert counts["responsibility"] >= 30 and counts["fact"] >= 20
    assert counts["paraphrase"] >= 10 and counts["traditional"] >= 5
    assert counts["unanswerable"] >= 10
    assert len({i.id for i in items}) == len(items)


def test_eval_command_on_a_maintainers_own_file(hashing_settings, rag_here, tmp_path: Path):
    gold = tmp_path / "mine.jsonl"
    rows = [
        {"id": "m1", "type": "responsibility", "question": "谁负责医保跨省结算？",
         "must": ["区医保局"], "evidence": "推进江北黄州异地就医医保直接结算", "clause": None},
        {"id": "m2", "type": "unanswerable", "question": "<script>alert(1)</script>专项资金多少万元？",
         "must": [], "evidence": None, "clause": None},
    ]  # fmt: skip
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    env = {"RAG_INDEX_DIR": str(hashing_settings.index_dir)}
    result = rag_here(
        "eval",
        "--gold",
        str(gold),
        "--out",
        str(out),
        "--modes",
        "hybrid,bm25",
        "--thresholds",
        str(REPO / "eval" / "thresholds.json"),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["modes"]) == {"hybrid", "bm25"}
    assert report["modes"]["hybrid"]["answer_accuracy"] == 1.0
    assert set(report["by_corpus"]) == {"mine"} and report["by_kind"]
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["m1", "m2"]
    assert json.loads(lines[0])["short_answer"] == {"lead": ["区医保局"], "participants": []}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_html_report_groups_misses_per_document():
    from rag.report import render_html

    other = GoldItem("t6", "fact", "问", ("三",), "证", {"doc_id": "e", "path": ""})
    judged = [
        judge(GOLD, answer("区卫健局", True)),
        judge(other, answer("二", True)),
        judge(GOLD, answer("区医保局", True)),
    ]
    html = render_html({"modes": {}, "by_type": {}, "by_corpus": {}, "by_kind": {}}, judged)
    assert "Misses (2)" in html
    assert html.index("<h3>d ·") < html.index('id="t1"') < html.index("<h3>e ·")
    assert "short answer: 区卫健局" in html
