"""CI gate: the gold set with the real model must stay at or above eval/thresholds.json."""

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
    assert below_thresholds(report["modes"]["hybrid"], thresholds) == []


def test_hybrid_beats_each_retriever_alone(report):
    modes = report["modes"]
    assert modes["hybrid"]["answer_accuracy"] > modes["bm25"]["answer_accuracy"]
    assert modes["hybrid"]["answer_accuracy"] > modes["dense"]["answer_accuracy"]
