"""CI gate: the bundled gold set with the real model must stay at or above eval/thresholds.json,
answer accuracy judged on the short answer (strict) and on the whole answer (lenient). The dev
gold set has its own gate (tests/test_dev_eval_gate.py)."""

from __future__ import annotations

import json

import pytest

from rag.evaluate import below_thresholds, evaluate, load_gold

from .conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(real_engine):
    items = load_gold(REPO / "eval" / "gold.jsonl")
    result, _ = evaluate(lambda q, mode: real_engine.ask(q, mode=mode), items)
    return result


def test_gold_set_meets_thresholds(report):
    thresholds = json.loads((REPO / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    assert all(0 < v <= 1 for v in thresholds.values())
    assert {"answer_accuracy", "answer_accuracy_lenient"} <= set(thresholds)
    assert below_thresholds(report["modes"]["hybrid"], thresholds) == []


def test_hybrid_beats_each_retriever_alone(report):
    """Retrieval shows in the lenient figure (is the answer anywhere in what was found); the
    strict one also depends on picking the figure out of the sentence, where BM25 ties."""
    modes = report["modes"]
    for other in ("bm25", "dense"):
        assert modes["hybrid"]["answer_accuracy_lenient"] > modes[other]["answer_accuracy_lenient"]
        assert modes["hybrid"]["answer_accuracy"] >= modes[other]["answer_accuracy"]
