"""The synthetic "unseen documents" set (eval/synth/) stays true to its documents.

The five documents were written before the product ever ran on them, in layouts the dev corpus
does not have; these checks keep the gold set honest (every evidence and must string is in its
document), fast and engine-free.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluate import squash

SYNTH = Path(__file__).resolve().parent.parent / "eval" / "synth"
ROWS = [
    json.loads(line)
    for line in (SYNTH / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    if line
]
DOCS = {p.stem: p for p in (SYNTH / "corpus").iterdir()}
TYPES = {
    "responsibility",
    "deadline",
    "figure",
    "count",
    "duration",
    "list",
    "paraphrase",
    "unanswerable",
}


def _text(doc: str) -> str:
    return squash(DOCS[doc].read_text(encoding="utf-8"))


def test_shape_and_spread():
    assert len(ROWS) >= 60
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    assert {r["type"] for r in ROWS} <= TYPES
    assert sum(r["type"] == "unanswerable" for r in ROWS) >= 10
    assert {r["doc"] for r in ROWS} == set(DOCS)


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_each_row_is_true_to_its_document(row):
    text = _text(row["doc"])
    if row["type"] == "unanswerable":
        assert row["must"] == [] and row["evidence"] is None and row["short"] is None
        return
    assert squash(row["evidence"]) in text
    assert row["clause"]["doc_id"] == row["doc"]
    for must in row["must"]:
        assert squash(must) in text, must
    short = row["short"]
    shown = (
        " ".join(short.get("lead", []) + short.get("participants", []) + short.get("items", []))
        + short.get("value", "")
        + short.get("text", "")
    )
    for must in row["must"]:
        assert squash(must) in squash(shown), must
