"""The answer scorer's features, weights, decision and calibration sweep, on synthetic inputs."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from rag import calibrate as cal
from rag.answer import NOT_FOUND, answer_from_hits, choose
from rag.evaluate import GoldItem, judge
from rag.features import (
    both_first,
    closeness,
    coverage,
    fits,
    framing,
    own_weights,
    rank_share,
    term_weights,
)
from rag.question import Need
from rag.types import Chunk, Clause, ClauseTree, Document, Hit, Responsibility
from rag.weights import DEFAULT, Weights


def _hit(rank: int, score: float, bm25_rank: int | None = None, dense_rank: int | None = None):
    chunk = Chunk(f"d#{rank}", "d", "标题", "", 0, 1, "x", (), 1)
    return Hit(chunk, rank, score, bm25_rank=bm25_rank, dense_rank=dense_rank)


def test_coverage_weighs_terms_by_their_weight_and_counts_each_once():
    weights = {"养老": 3.0, "补贴": 1.0}
    assert coverage("养老养老", weights) == 0.75
    assert coverage("养老补贴", weights) == 1.0
    assert coverage("无关", weights) == 0.0


def test_own_weights_drop_what_the_title_says_unless_that_is_everything():
    weights = {"广州": 1.0, "长护险": 2.0, "待遇": 1.5}
    assert own_weights(weights, "广州市长期护理保险办法") == {"长护险": 2.0, "待遇": 1.5}
    assert own_weights({"广州": 1.0}, "广州市办法") == {"广州": 1.0}


def test_closeness_scales_within_the_question():
    assert closeness([0.81, 0.83, 0.85]) == [0.0, 0.5, 1.0]
    assert closeness([None, 0.2]) == [0.0, 0.0]  # one known value: nothing to compare
    assert closeness([]) == []


def test_rank_share_and_both_first():
    hits = [_hit(1, 0.04, 1, 2), _hit(2, 0.01, 2, 1), _hit(3, 0.02, 1, 1)]
    assert [rank_share(h, hits) for h in hits] == [1.0, 0.25, 0.5]
    assert [both_first(h) for h in hits] == [False, False, True]
    assert rank_share(_hit(1, 0.0), [_hit(1, 0.0)]) == 0.0


def test_fits_takes_units_from_an_annotation_or_prose_and_a_deadline_from_the_annotation():
    who, when = Need.of("谁负责垃圾分类？"), Need.of("垃圾分类什么时候完成？")
    duty = Responsibility(("区城管局",), (), 0, 6, 6, 20, deadline="2025年底")
    assert fits(who, "", "推进垃圾分类。", duty, None)
    assert fits(who, "", "垃圾分类由街道负责。", None, "街道")
    assert not fits(who, "", "推进垃圾分类。", None, None)
    assert fits(when, "", "推进垃圾分类。", duty, None)  # its 完成时限
    assert not fits(when, "", "推进垃圾分类。", replace(duty, deadline=""), None)
    assert fits(when, "", "2025年6月前完成垃圾分类。", None, None)


def test_weights_score_is_the_weighted_sum():
    w = Weights(context=0.5, sentence=0.25, meaning=0.1, rank=0.2, fits=0.4)
    assert w.score(1.0, 0.0, 0.0, 0.0, False) == 0.5
    assert w.score(0.0, 0.0, 0.0, 0.0, True) == 0.4
    assert w.score(0.4, 0.8, 1.0, 0.5, True) == pytest.approx(0.2 + 0.2 + 0.1 + 0.1 + 0.4)


@dataclass(frozen=True)
class R:
    score: float
    coverage: float
    fits: bool
    agreed: bool = False


def test_choose_prefers_a_fitting_sentence_scoring_nearly_as_well():
    top, fitting = R(1.0, 0.9, False), R(0.85, 0.5, True)
    w = Weights(fallback=0.8, floor=0.2, unfit_coverage=1.01)  # never answer an unfitting one
    assert choose([top, fitting], w) == (fitting, True)
    assert choose([top, fitting], replace(w, fallback=0.9)) == (top, False)
    assert choose([], w) == (None, False)


def test_choose_refuses_below_the_floor_even_when_it_fits():
    assert choose([R(0.5, 0.1, True)], Weights(floor=0.2)) == (R(0.5, 0.1, True), False)
    assert choose([R(0.5, 0.3, True)], Weights(floor=0.2))[1]


def test_choose_answers_an_unfitting_sentence_that_covers_nearly_everything():
    lone = R(1.0, 0.9, False, agreed=False)
    agreed = replace(lone, agreed=True)
    w = Weights(floor=0.1, unfit_coverage=0.8, unfit_agreed=True)
    assert not choose([lone], w)[1] and choose([agreed], w)[1]
    assert choose([lone], replace(w, unfit_agreed=False))[1]
    assert not choose([replace(lone, coverage=0.7)], replace(w, unfit_agreed=False))[1]
    assert not choose([agreed], replace(w, unfit_coverage=1.01))[1]  # never


class FakeSource:
    """A Source that is not an Index: one document, made-up term weights."""

    def __init__(self, text: str):
        doc = Document("p", "养老服务办法", text)
        self.trees = {"p": ClauseTree(doc, (), ())}
        self.idf = {"助餐": 3.0, "补贴": 2.0, "标准": 1.0}

    def unseen_idf(self) -> float:
        return 5.0

    def terms(self, text: str) -> list[str]:
        return [t for t in ("助餐", "补贴", "标准", "火星") if t in text]

    def sentence_vector(self, doc_id: str, start: int, end: int) -> np.ndarray | None:
        return None


def test_answer_needs_only_the_source_protocol_and_takes_latency_from_the_caller():
    text = "老年人助餐补贴标准为每餐5元。其他事项另行规定。"
    source = FakeSource(text)
    hits = [Hit(Chunk("p#0", "p", "养老服务办法", "", 0, len(text), text, (), 9), 1, 1.0)]
    assert term_weights("火星助餐", source) == {"火星": 5.0, "助餐": 3.0}
    a = answer_from_hits("助餐补贴标准是多少元？", hits, source, np.zeros(3), latency_ms=12.5)
    assert a.found and a.latency_ms == 12.5
    assert a.short_answer == {"value": "5元"}
    assert a.citations[0].text == "老年人助餐补贴标准为每餐5元。"
    strict = Weights(floor=0.5)  # 火星 (5.0) outweighs 补贴 (2.0): coverage 2/7
    refused = answer_from_hits("火星补贴是多少元？", hits, source, np.zeros(3), weights=strict)
    assert not refused.found and refused.answer.startswith(NOT_FOUND)


# the closing line of a real calibration document (a commendation notice), and a made-up one
CLOSING = "希望受到表扬的地方珍惜荣誉，再接再厉，充分发挥模范表率作用，取得新的更大成绩。"
PREAMBLE = "为做好助餐补贴工作，现就助餐补贴标准通知如下。"


# the rest of a clause: a document's clauses hold most of its text, as in a real notice
BODY = "各地要加强组织领导，明确责任分工，确保各项工作落到实处。" * 2


def _framed(preamble: str, heading: str, fact: str) -> ClauseTree:
    """A document: a preamble line, then one clause holding the fact and most of the text."""
    text = f"{preamble}\n{heading}\n{fact}\n{BODY}\n"
    start = len(preamble) + 1
    clause = Clause(0, None, "一、", "一、", heading[2:], (heading,), start, len(text))
    return ClauseTree(Document("p", "养老服务办法", text), (clause,), ())


def test_framing_is_a_line_outside_every_clause_of_a_document_with_clauses():
    tree = _framed(CLOSING, "一、表扬名单", "广东省广州市着力打造高品质家庭医生服务。")
    fact_at = tree.doc.text.index("广东")
    assert framing(tree, tree.clause_at(0))  # the closing line: no clause holds it
    assert not framing(tree, tree.clause_at(fact_at))
    flat = ClauseTree(tree.doc, (), ())  # a document without clauses frames nothing
    assert not framing(flat, flat.clause_at(0))
    # nor one whose clauses hold only its tail: its facts may be in the opening paragraph
    text = f"{CLOSING * 3}\n一、工作要求\n{BODY[:20]}\n"
    tail = Clause(
        0, None, "一、", "一、", "工作要求", ("一、工作要求",), text.index("一、"), len(text)
    )
    assert not framing(ClauseTree(Document("p", "通知", text), (tail,), ()), None)


class FramedSource(FakeSource):
    def __init__(self, tree: ClauseTree):
        super().__init__(tree.doc.text)
        self.trees = {"p": tree}


def test_a_preamble_sharing_the_question_loses_to_the_clause_with_the_fact():
    """The preamble names every term of the question but states no figure; the clause does."""
    tree = _framed(PREAMBLE, "一、补贴标准", "每餐补贴5元。")
    text = tree.doc.text
    source = FramedSource(tree)
    hits = [Hit(Chunk("p#0", "p", "养老服务办法", "", 0, len(text), text, (), 9), 1, 1.0)]
    question = "助餐补贴标准是多少元？"
    a = answer_from_hits(question, hits, source, np.zeros(3))
    assert a.found and a.short_answer == {"value": "5元"}
    assert a.citations[0].clause_path == "一、补贴标准"
    unframed = answer_from_hits(question, hits, source, np.zeros(3), weights=Weights(framing=0.0))
    assert unframed.citations[0].text == PREAMBLE  # what happened before: the preamble won


class TermSource(FakeSource):
    """A document of clauses (label, heading, sentence) and made-up term weights."""

    def __init__(self, parts: list[tuple[str, str, str]], idf: dict[str, float]):
        text, clauses = "", []
        for i, (label, heading, sentence) in enumerate(parts):
            start = len(text)
            text += f"{label}{heading}\n{sentence}\n"
            path = (f"{label}{heading}",)
            clauses.append(Clause(i, None, label, label, heading, path, start, len(text)))
        super().__init__(text)
        self.trees = {"p": ClauseTree(Document("p", "长护险办法", text), tuple(clauses), ())}
        self.idf = idf

    def terms(self, text: str) -> list[str]:
        return [t for t in self.idf if t in text]


def test_the_clause_heading_holding_the_qualifier_beats_a_sentence_repeating_the_question():
    """个人 is only in the heading of the clause with the answer; the other clause's sentence
    repeats 退休人员 and 缴费费率 but is about the 单位 rate. Weighing the sentence alone as much
    as before (0.35) chose it."""
    idf = {"退休": 3.0, "人员": 1.0, "个人": 2.0, "缴费": 2.0, "费率": 3.0}
    parts = [
        ("一、", "单位缴费费率", "单位缴费费率，在职职工、退休人员均为0.15%。"),
        ("二、", "个人缴费费率", "退休人员为0.12%。"),
    ]
    source = TermSource(parts, idf)
    text = source.trees["p"].doc.text
    hits = [Hit(Chunk("p#0", "p", "长护险办法", "", 0, len(text), text, (), 9), 1, 1.0)]
    question = "退休人员的个人缴费费率是多少？"
    a = answer_from_hits(question, hits, source, np.zeros(3))
    assert a.found and a.short_answer == {"value": "0.12%"}
    assert a.citations[0].clause_path == "二、个人缴费费率"
    before = answer_from_hits(question, hits, source, np.zeros(3), weights=Weights(sentence=0.35))
    assert before.short_answer == {"value": "0.15%"}


def _random_cases(seed: int, n: int = 60) -> list[cal.Case]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size = int(rng.integers(0, 8))
        features = rng.random((size, 6))
        features[:, 4] = rng.random(size) < 0.5
        features[:, 5] = rng.random(size) < 0.3  # framing
        answerable = bool(rng.random() < 0.8)
        correct = (rng.random(size) < 0.3) & answerable
        corpus = "dev calibration" if i % 3 else "bundled"
        out.append(cal.Case(str(i), corpus, answerable, features, rng.random(size) < 0.3, correct))
    return out


def test_the_vectorised_sweep_agrees_with_choose_case_by_case():
    found = _random_cases(7)
    grid = {
        **cal.GRID,
        "context": (0.3, 0.6),
        "sentence": (0.2,),
        "meaning": (0.0, 0.3),
        "rank": (0.2,),
        "fits": (0.0, 0.3),
        "floor": (0.1, 0.4),
        "unfit_coverage": (0.6, 1.01),
        "framing": (0.0, 0.4),
    }
    outcomes = cal.sweep(found, grid)
    assert len(outcomes) == 2 * 2 * 2 * 2 * 2 * len(grid["fallback"]) * 2 * 2
    for o in outcomes[::7]:
        assert cal.judge(found, o.weights) == o
    assert [o.objective for o in outcomes] == sorted((o.objective for o in outcomes), reverse=True)


def test_calibration_refuses_held_out_questions(tmp_path):
    item = GoldItem("h1", "figure", "补贴多少元？", ("5元",), "5元", None, corpus="dev heldout")
    with pytest.raises(cal.HeldOutQuestions):
        cal.cases(None, [item])
    path = tmp_path / "cases.json"
    cal.write_cases([replace(_random_cases(1, 1)[0], corpus="holdout")], path)
    with pytest.raises(cal.HeldOutQuestions):
        cal.read_cases(path)


def test_saved_cases_read_back_the_same(tmp_path):
    found = _random_cases(3, 10)
    path = tmp_path / "cases.json"
    cal.write_cases(found, path)
    back = cal.read_cases(path)
    assert [c.item_id for c in back] == [c.item_id for c in found]
    for a, b in zip(back, found, strict=True):
        assert np.allclose(a.features, b.features) and (a.agreed == b.agreed).all()
        assert (a.correct == b.correct).all() and a.answerable == b.answerable


def test_replayed_cases_give_the_engines_own_judgements(hashing_engine):
    """Offline replay with the default weights = asking the engine and judging its answers."""
    items = [
        GoldItem("q1", "responsibility", "谁负责医保跨省结算？", ("区医保局",), "医保", None),
        GoldItem("q2", "figure", "化解欠薪纠纷多少件？", ("3291件",), "3291件", None),
        GoldItem("q3", "unanswerable", "火星基地的预算是多少万元？", (), None, None),
        GoldItem("q4", "fact", "村企结对的相关经费由谁落实解决？", ("乡镇",), "经费", None),
        GoldItem("q5", "unanswerable", "请问一下", (), None, None),
    ]
    found = cal.cases(hashing_engine, items)
    replay = cal.judge(found, DEFAULT)
    live = [judge(item, hashing_engine.ask(item.question)) for item in items]
    answerable = [j for j in live if j.item.answerable]
    refused = [j for j in live if not j.found]
    m = replay.by_corpus["bundled"]
    assert m["strict"] == round(sum(j.correct for j in answerable) / len(answerable), 4)
    assert m["refusal_recall"] == round(
        sum(not j.found for j in live if not j.item.answerable) / 2, 4
    )
    assert m["refusal_precision"] == (
        round(sum(not j.item.answerable for j in refused) / len(refused), 4) if refused else None
    )
    assert 0 < m["strict"] < 1  # q4's must is wrong on purpose: the figures are not trivial


def test_rag_calibrate_sweeps_saved_cases_and_prints_the_best_weights(tmp_path, rag_here):
    path = tmp_path / "cases.json"
    cal.write_cases(_random_cases(5, 30), path)
    done = rag_here("calibrate", "--load", str(path), "--only", "floor,unfit_coverage", env={})
    assert done.returncode == 0, done.stderr
    assert f"best: Weights(context={DEFAULT.context}," in done.stdout  # ranking weights held
    assert "(defaults)" in done.stdout and "floor: 0→" in done.stdout
    bad = rag_here("calibrate", "--load", str(path), "--only", "flor", env={})
    assert bad.returncode == 1 and "unknown weights flor" in bad.stderr


def test_a_lead_in_sentence_answers_with_what_it_announces():
    """“可在以下两种方式中任选其一。” says there are ways; the next sentences say which."""
    lead = "补贴可在以下两种方式中任选其一，一经选定不得更改。"
    text = f"{lead}第一种方式为按月领取。第二种方式为一次领取。第三句不再读。"
    source = FakeSource(text)
    hits = [Hit(Chunk("p#0", "p", "养老服务办法", "", 0, len(lead), lead, (), 9), 1, 1.0)]
    a = answer_from_hits("补贴能怎么领？", hits, source, np.zeros(3))
    assert a.found and a.citations[0].text == lead
    assert a.short_answer == {"text": f"{lead}第一种方式为按月领取。第二种方式为一次领取。"}


def test_a_sentence_that_announces_nothing_keeps_its_own_text():
    """“以下” as “below” (60岁以下) is no lead-in: the sentence alone is the answer."""
    first = "补贴发给60岁以下的独居老人，按季度核定。"
    text = f"{first}其他事项另行规定。"
    source = FakeSource(text)
    hits = [Hit(Chunk("p#0", "p", "养老服务办法", "", 0, len(first), first, (), 9), 1, 1.0)]
    a = answer_from_hits("补贴发给谁？", hits, source, np.zeros(3))
    assert a.found and a.short_answer == {"text": first}


def _guide(parts: list[tuple[str, str, str]], idf: dict[str, float], question: str):
    source = TermSource(parts, idf)
    text = source.trees["p"].doc.text
    hits = [Hit(Chunk("p#0", "p", "长护险办法", "", 0, len(text), text, (), 9), 1, 1.0)]
    return answer_from_hits(question, hits, source, np.zeros(3))


GUIDE_IDF = {"登记": 1.0, "实施": 2.0, "机关": 2.0, "办理": 1.0, "收费": 2.0}


def test_a_who_field_of_a_service_guide_names_the_unit_that_handles_it():
    """办事指南 state who acts as a field (实施机关：X局。), with no “由…负责” to read."""
    who = ("三、", "实施机关", "江川市各区（县）市场监督管理局。")
    parts = [("一、", "事项名称", "个体工商户设立登记。"), who]
    a = _guide(parts, GUIDE_IDF, "这项登记业务由哪个机关负责实施？")
    assert a.found and a.short_answer["lead"] == ["江川市各区（县）市场监督管理局"]
    other = [parts[0], ("三、", "办理地点", who[2])]  # the same unit under another field
    b = _guide(other, GUIDE_IDF, "这项登记业务由哪个机关负责实施？")
    assert not (b.found and b.short_answer.get("lead"))


def test_no_fee_answers_a_fee_question_but_a_free_service_does_not():
    parts = [("一、", "办理时限", "3个工作日。"), ("二、", "收费标准", "不收费。")]
    a = _guide(parts, GUIDE_IDF, "办理登记怎么收费，要交多少钱？")
    assert a.found and a.short_answer == {"text": "不收费。"}
    free_post = [parts[0], ("二、", "收费标准", "营业执照免费邮寄。")]
    assert not _guide(free_post, GUIDE_IDF, "办理登记怎么收费，要交多少钱？").found


def test_the_question_line_of_a_q_and_a_never_answers():
    """A 政策解读 in 问答 form repeats the asker's words in its 问 line; the 答 line answers."""
    idf = {"创业": 2.0, "补贴": 2.0, "一次性": 3.0, "能拿": 1.0}
    qa = "问：一次性创业补贴能拿多少钱？\n答：符合条件的，给予一次性创业补贴1万元。"
    a = _guide([("三、", "补贴标准", qa)], idf, "一次性创业补贴能拿多少钱？")
    assert a.found and a.short_answer == {"value": "1万元"}
    assert a.citations[0].text.startswith("答")
    alone = _guide([("三、", "补贴标准", qa.split("\n")[0])], idf, "一次性创业补贴是什么？")
    assert not alone.found  # the question line alone answers nothing, however well it covers


def test_a_question_naming_a_who_field_is_answered_from_that_field():
    """由哪个机关实施 asks for the 实施机关 field; a unit charged elsewhere with a cost
    (所需费用由登记机关承担) covers the question's words as well but answers something else."""
    parts = [
        ("三、", "实施机关", "江川市各区（县）市场监督管理局。"),
        ("九、", "收费标准", "所需费用由登记机关承担。"),
    ]
    idf = {"实施": 1.0, "机关": 3.0, "登记": 3.0}
    a = _guide(parts, idf, "这项登记业务由哪个机关负责实施？")
    assert a.found and a.short_answer["lead"] == ["江川市各区（县）市场监督管理局"]
    # a question naming another act is not narrowed to the field: the cost bearer may answer
    b = _guide(parts, idf, "登记的费用由哪个机关承担？")
    assert b.found and b.short_answer["lead"] == ["登记机关"]
