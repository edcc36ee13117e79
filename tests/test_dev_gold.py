"""The dev-corpus gold set (eval/dev/gold.jsonl) stays well-formed and true to its documents.

Fast and engine-free: every check reads the repo copy of the 46 dev documents (eval/dev/corpus/),
takes their raw text (HTML tags stripped with lxml, PDFs as PDFium's text layer through pypdfium2,
which squashes to pdfplumber's text at an eighth of the time) and compares on the folded,
whitespace-free form that the evaluator uses (``rag.evaluate.squash``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from rag.evaluate import squash
from rag.zh import fold

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "eval" / "dev"
CORPUS = DEV / "corpus"
GOLD = DEV / "gold.jsonl"
SPLITS = DEV / "splits.json"

FIELDS = {"id", "doc", "type", "question", "must", "short", "evidence", "clause"}
TYPES = {
    "responsibility",
    "deadline",
    "figure",
    "count",
    "duration",
    "list",
    "paraphrase",
    "traditional",
    "unanswerable",
}
VALUE_TYPES = {"deadline", "figure", "count", "duration"}
HK_DOCS = {"d41_hk_interception_guidelines_tc", "d42_hk_nsl_art43_rules_tc", "d43_hk_basic_law_tc"}
SEP = " › "


def _rows() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line]


ROWS = _rows()
ANSWERABLE = [r for r in ROWS if r["type"] != "unanswerable"]
DOC_FILES = {p.stem: p for p in CORPUS.iterdir()}


@cache
@cache  # two tests per document read it
def doc_text(doc: str) -> str:
    """The document's raw text, squashed: tags stripped, folded, without whitespace."""
    path = DOC_FILES[doc]
    if path.suffix == ".pdf":  # PDFium's own text layer, none of rag.readers.pdf's logic
        import pypdfium2

        pdf = pypdfium2.PdfDocument(path)
        text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    elif path.suffix == ".html":
        import lxml.html

        text = lxml.html.fromstring(path.read_bytes().decode("utf-8")).text_content()
    else:
        text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)
    return squash(text)


def test_corpus_copy_is_complete():
    assert (CORPUS.parent / "SOURCES.md").is_file()
    assert len(DOC_FILES) == 46
    assert all(re.fullmatch(r"d\d\d_\w+", stem) for stem in DOC_FILES)


def test_every_line_parses_with_its_fields():
    assert len(ROWS) == len(GOLD.read_text(encoding="utf-8").splitlines())
    for row in ROWS:
        assert set(row) == FIELDS, row["id"]
        assert row["type"] in TYPES, row["id"]
        assert row["doc"] in DOC_FILES, row["id"]
        assert isinstance(row["question"], str) and row["question"].endswith(("？", "?")), row
        assert isinstance(row["must"], list) and all(isinstance(m, str) and m for m in row["must"])


def test_ids_are_unique_and_numbered():
    ids = [row["id"] for row in ROWS]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"dev\d{3}", i) for i in ids)
    assert len({row["question"] for row in ROWS}) == len(ROWS), "a question is asked twice"


def test_size_and_unanswerable_share():
    assert len(ROWS) >= 200
    share = sum(row["type"] == "unanswerable" for row in ROWS) / len(ROWS)
    assert share >= 0.15
    assert set(Counter(row["type"] for row in ROWS)) == TYPES


def test_unanswerable_rows_carry_no_answer():
    for row in ROWS:
        if row["type"] == "unanswerable":
            assert row["must"] == [] and row["short"] is None, row["id"]
            assert row["evidence"] is None and row["clause"] is None, row["id"]


def test_answerable_rows_have_evidence_clause_and_must():
    for row in ANSWERABLE:
        evidence = row["evidence"]
        assert isinstance(evidence, str) and 8 <= len(evidence) <= 40, row["id"]
        assert "\n" not in evidence and "<" not in evidence, row["id"]
        assert row["must"], row["id"]
        assert row["clause"]["doc_id"] == row["doc"], row["id"]
        path = row["clause"]["path"]
        assert isinstance(path, str) and path == path.strip(), row["id"]
        assert all(part.strip() == part and part for part in path.split(SEP)) or path == ""


def test_short_answer_has_the_shape_of_its_type():
    for row in ANSWERABLE:
        short, kind = row["short"], row["type"]
        if kind == "responsibility":
            assert set(short) == {"lead", "participants"} and short["lead"], row["id"]
            units = short["lead"] + short["participants"]
            assert all(u and u == u.strip() and "/" not in u for u in units), row["id"]
            assert all(any(m in u for u in units) for m in row["must"]), row["id"]
        elif kind in VALUE_TYPES:
            assert set(short) == {"value"} and short["value"], row["id"]
            assert all(squash(m) in squash(short["value"]) for m in row["must"]), row["id"]
        elif kind == "list":
            assert set(short) == {"items"} and len(short["items"]) >= 2, row["id"]
            assert 2 <= len(row["must"]) <= 4, row["id"]
            assert set(row["must"]) <= set(short["items"]), row["id"]
        else:
            assert set(short) == {"text"} and short["text"], row["id"]


@pytest.mark.parametrize("doc", sorted({row["doc"] for row in ANSWERABLE}))
def test_evidence_and_must_occur_in_the_document(doc):
    text = doc_text(doc)
    for row in (r for r in ANSWERABLE if r["doc"] == doc):
        assert squash(row["evidence"]) in text, (row["id"], row["evidence"])
        for must in row["must"]:
            assert squash(must) in text, (row["id"], must)


@pytest.mark.parametrize("doc", sorted({row["doc"] for row in ANSWERABLE}))
def test_clause_path_headings_precede_the_evidence(doc):
    """Each heading of the path is in the document, in order, and the evidence follows them."""
    text = doc_text(doc)
    for row in (r for r in ANSWERABLE if r["doc"] == doc and r["clause"]["path"]):
        pos = 0
        for part in row["clause"]["path"].split(SEP):
            found = text.find(squash(part), pos)
            assert found >= 0, (row["id"], part)
            pos = found
        assert text.find(squash(row["evidence"]), pos) >= 0, (row["id"], "evidence before path")


def test_traditional_questions_are_about_hong_kong_and_in_traditional_script():
    def traditional(text: str) -> bool:
        return any("\u4e00" <= c <= "\u9fff" and fold(c) != c for c in text)

    rows = [row for row in ROWS if row["type"] == "traditional"]
    assert rows
    for row in rows:
        assert row["doc"] in HK_DOCS, row["id"]
        assert traditional(row["question"]), row["id"]
    assert not any(traditional(r["question"]) for r in ROWS if r["doc"] not in HK_DOCS)


def test_splits_partition_the_documents():
    splits = json.loads(SPLITS.read_text(encoding="utf-8"))
    assert set(splits) == {"calibration", "heldout"}
    calibration, heldout = set(splits["calibration"]), set(splits["heldout"])
    assert not calibration & heldout
    assert calibration | heldout == set(DOC_FILES)
    assert len(splits["calibration"]) == len(calibration) and len(splits["heldout"]) == len(heldout)
    assert len(DOC_FILES) / 4 <= len(heldout) <= len(DOC_FILES) / 2
    for row in ROWS:
        assert (row["doc"] in calibration) != (row["doc"] in heldout), row["id"]


def test_both_splits_hold_every_kind_of_document_and_question():
    splits = json.loads(SPLITS.read_text(encoding="utf-8"))
    for name, docs in splits.items():
        suffixes = {DOC_FILES[d].suffix for d in docs}
        assert {".html", ".md", ".pdf"} <= suffixes, name
        assert any("_gov_" in d for d in docs), name
        assert any("_gz_" in d for d in docs), name
        kinds = {row["type"] for row in ROWS if row["doc"] in docs}
        assert kinds == TYPES, (name, TYPES - kinds)


def test_every_document_is_asked_about():
    asked = Counter(row["doc"] for row in ROWS)
    assert set(asked) == set(DOC_FILES)
    assert min(asked.values()) >= 3


def test_no_question_is_shared_with_the_main_gold_sets():
    main = set()
    for name in ("gold.jsonl", "holdout.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                main.add(squash(json.loads(line)["question"]))
    assert not {squash(row["question"]) for row in ROWS} & main


def copied_share(question: str, sentence: str, run: int = 4) -> float:
    """Share of the question's characters that sit in a run of ``run`` chars copied from sentence.

    >>> sentence = "省经济和信息化主管部门负责推进全省数字经济发展工作"
    >>> round(copied_share("全省数字经济发展工作由谁负责？", sentence), 2)
    0.71
    >>> round(copied_share("浙江推动数字经济的总牵头部门是哪个？", sentence), 2)
    0.24
    """
    q = re.sub(r"\W", "", squash(question))
    covered = [False] * len(q)
    for i in range(len(q) - run + 1):
        if q[i : i + run] in sentence:
            covered[i : i + run] = [True] * run
    return sum(covered) / max(1, len(q))


def sentence_around(text: str, evidence: str) -> str:
    """The sentence (between 。；！？) of squashed ``text`` that holds ``evidence``."""
    start = text.find(evidence)
    left = max(text.rfind(c, 0, start) for c in "。；！？")
    ends = [j for j in (text.find(c, start + len(evidence)) for c in "。；！？") if j >= 0]
    return text[left + 1 : min(ends) if ends else len(text)]


def test_questions_do_not_copy_their_sentence():
    """≤ 60 % of a question's characters come from its evidence sentence; paraphrases far less."""
    shares = {}
    for row in ANSWERABLE:
        sentence = sentence_around(doc_text(row["doc"]), squash(row["evidence"]))
        shares[row["id"]] = share = copied_share(row["question"], sentence)
        assert share <= 0.6, (row["id"], row["question"], round(share, 2))
        if row["type"] == "paraphrase":
            assert share <= 0.4, (row["id"], row["question"], round(share, 2))
    paraphrases = [shares[r["id"]] for r in ANSWERABLE if r["type"] == "paraphrase"]
    assert sum(paraphrases) / len(paraphrases) < sum(shares.values()) / len(shares)
