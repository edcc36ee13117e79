"""Evaluation: gold questions → per-question judgements → metrics, by type and retrieval mode.

Every question goes through ``Engine.ask`` (the code path of ``rag ask`` and the API). Gold items
point at evidence text and clause paths, not chunk ids, so re-chunking does not break them.
Comparisons are made on folded text (traditional/simplified and full/half width do not matter).

Several gold files can be run at once; each question belongs to a corpus (``bundled`` for
eval/gold.jsonl, ``dev calibration`` / ``dev heldout`` for items whose ``doc`` a splits.json
beside the file places, else the file's name), and metrics are also given by corpus, by question
type and by document kind (``rag.filters.kind_of`` of the gold document's title).

Metrics (answerable questions unless said otherwise):
- hit@1/3/5, MRR — the evidence lies inside the k-th retrieved passage;
- answer accuracy — found, and every ``must`` string is in the short answer
  (``Answer.short_answer`` as text); with a gold ``short`` of lead units, those units must be in
  the short answer's lead (participants may be in either). ``answer_accuracy_lenient``: every
  ``must`` string anywhere in the whole answer text (the figure before short answers existed);
- citation accuracy — the evidence lies inside one of the (up to 3) citations;
- clause accuracy — the first citation is in the gold document, under the gold clause path;
- refusal precision / recall — over all questions, refusing = ``found`` is false;
- latency p50 / p95 of ``ask``.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.filters import kind_of
from rag.types import Answer, short_text
from rag.zh import fold

TYPES = (
    "responsibility",
    "fact",
    "figure",
    "count",
    "duration",
    "deadline",
    "list",
    "paraphrase",
    "traditional",
    "unanswerable",
)
SPLITS = ("calibration", "heldout")
FIELDS = ("id", "type", "question", "must", "evidence", "clause")


class BadGold(RagError):
    """A gold file line that does not follow the format."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    type: str
    question: str
    must: tuple[str, ...]
    evidence: str | None
    clause: dict | None  # {"doc_id": …, "path": …}
    short: dict | None = None  # the expected short answer: {"lead", "participants"} / {"value"} …
    doc: str | None = None  # the document asked about (dev gold names it even when unanswerable)
    corpus: str = "bundled"  # bundled, dev calibration, dev heldout, or the gold file's name

    @property
    def answerable(self) -> bool:
        return self.evidence is not None

    @property
    def doc_id(self) -> str | None:
        return self.doc or (self.clause or {}).get("doc_id")


@dataclass(frozen=True)
class Judged:
    """One question, its answer and whether each part of it was right."""

    item: GoldItem
    answer: dict
    found: bool
    correct: bool  # answerable: found, every must string in the short answer; unanswerable: refused
    cited: bool | None  # evidence inside a citation (None when unanswerable)
    clause_ok: bool | None
    rank: int | None  # rank of the first retrieved passage holding the evidence
    latency_ms: float
    passages: list[dict]  # what was retrieved, for the report
    correct_lenient: bool = False  # answerable: found, every must string anywhere in the answer
    kind: str = ""  # of the gold document: 通知, 办法, 意见…


def squash(text: str) -> str:
    """The comparison form: folded, without whitespace."""
    return re.sub(r"\s+", "", fold(text))


def load_gold(path: Path, split: str | None = None) -> list[GoldItem]:
    """Read a gold file; every malformed line is reported with its number. Dev gold lines also
    carry ``doc`` and ``short``; a splits.json beside the file names each document's split, and
    ``split`` keeps only the questions on that split's documents."""
    if not path.is_file():
        raise BadGold(f"gold file {path} does not exist")
    if split is not None and split not in SPLITS:
        raise BadGold(f"unknown split {split!r}: use {' or '.join(SPLITS)}")
    splits = _splits(path)
    items: list[GoldItem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadGold(f"{path}:{n}: not JSON ({e.msg})") from e
        missing = [f for f in FIELDS if f not in row] if isinstance(row, dict) else FIELDS
        if missing:
            raise BadGold(f"{path}:{n}: missing {', '.join(missing)}")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise BadGold(f"{path}:{n}: question must be a non-empty string")
        if not isinstance(row["must"], list) or not all(isinstance(m, str) for m in row["must"]):
            raise BadGold(f"{path}:{n}: must must be a list of strings")
        if (row["evidence"] is None) != (not row["must"]):
            raise BadGold(f"{path}:{n}: unanswerable items have must [] and evidence null")
        short = row.get("short")
        if short is not None and not _short_ok(short):
            raise BadGold(
                f"{path}:{n}: short must be null or an object of lead/participants, "
                "value, items or text"
            )
        doc = row.get("doc") if isinstance(row.get("doc"), str) else None
        corpus = f"dev {splits[doc]}" if doc in splits else _corpus_name(path)
        if split and doc in splits and splits[doc] != split:
            continue
        items.append(
            GoldItem(
                str(row["id"]),
                str(row["type"]),
                row["question"],
                tuple(row["must"]),
                row["evidence"],
                row["clause"],
                short,
                doc,
                corpus,
            )
        )
    if not items:
        raise BadGold(f"{path} holds no questions" + (f" on the {split} split" if split else ""))
    return items


def load_golds(paths: Iterable[Path], split: str | None = None) -> list[GoldItem]:
    """Several gold files as one list; ids must stay unique across them."""
    items = [item for path in paths for item in load_gold(path, split)]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise BadGold(f"question id {item.id} appears twice: give each file its own ids")
        seen.add(item.id)
    return items


def _splits(path: Path) -> dict[str, str]:
    """doc id → split, from splits.json beside the gold file ({} when there is none)."""
    file = path.parent / "splits.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BadGold(f"{file}: not JSON ({e.msg})") from e
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise BadGold(f'{file}: expected {{"calibration": [doc ids], "heldout": [doc ids]}}')
    return {str(doc): name for name, docs in data.items() for doc in docs}


def _corpus_name(path: Path) -> str:
    """The bundled set is eval/gold.jsonl; another folder's gold.jsonl (eval/synth/gold.jsonl)
    is named after its folder, any other file after itself.

    >>> _corpus_name(Path("eval/gold.jsonl")), _corpus_name(Path("eval/synth/gold.jsonl"))
    ('bundled', 'synth')
    >>> _corpus_name(Path("eval/holdout.jsonl"))
    'holdout'
    """
    if path.name != "gold.jsonl":
        return path.stem
    folder = path.resolve().parent
    return "bundled" if folder.name == "eval" or not folder.name else folder.name


def _short_ok(short: object) -> bool:
    keys = {"lead", "participants", "value", "items", "text", "other"}
    return isinstance(short, dict) and bool(short) and set(short) <= keys


def judge(item: GoldItem, answer: Answer, kind: str = "") -> Judged:
    """Compare one answer with its gold item (``kind``: of the gold document, for the report)."""
    text = squash(answer.answer)
    passages = [
        {
            "rank": h.rank,
            "doc_id": h.chunk.doc_id,
            "clause_path": h.chunk.clause_path,
            "text": h.chunk.text,
            "score": round(h.score, 4),
        }
        for h in answer.hits
    ]
    if not item.answerable:
        return Judged(
            item,
            answer.to_dict(),
            answer.found,
            not answer.found,
            None,
            None,
            None,
            answer.latency_ms,
            passages,
            not answer.found,
            kind,
        )
    evidence = squash(item.evidence or "")
    rank = next((p["rank"] for p in passages if evidence in squash(p["text"])), None)
    lenient = answer.found and all(squash(m) in text for m in item.must)
    correct = answer.found and short_right(item, answer.short_answer)
    cited = any(
        evidence in squash(c.passage) or evidence in squash(c.text) for c in answer.citations
    )
    clause_ok = bool(answer.citations) and _same_clause(item.clause, answer.citations[0])
    return Judged(
        item,
        answer.to_dict(),
        answer.found,
        correct,
        cited,
        clause_ok,
        rank,
        answer.latency_ms,
        passages,
        lenient,
        kind,
    )


def short_right(item: GoldItem, short: dict | None) -> bool:
    """Every ``must`` string is in the short answer; when the gold names lead units, each is in
    the short answer's lead (a unit the gold calls participating may stand in either list)."""
    text = squash(short_text(short))
    if not short or not all(squash(m) in text for m in item.must):
        return False
    expected = (item.short or {}).get("lead") or []
    lead = squash("、".join((short or {}).get("lead", ())))
    return all(squash(u) in lead for u in expected)


def _same_clause(gold: dict | None, citation) -> bool:
    if not gold:
        return False
    return citation.doc_id == gold["doc_id"] and squash(citation.clause_path).startswith(
        squash(gold["path"])
    )


def run(
    ask: Callable[[str], Answer],
    items: Iterable[GoldItem],
    progress: Callable[[int], None] | None = None,
    titles: Mapping[str, str] | None = None,
) -> list[Judged]:
    results = []
    for n, item in enumerate(items, start=1):
        results.append(judge(item, ask(item.question), document_kind(item, titles or {})))
        if progress:
            progress(n)
    return results


def document_kind(item: GoldItem, titles: Mapping[str, str]) -> str:
    """The kind of the gold document (通知, 办法…), "其他" when its title names none, "（无）"
    when the question names no document."""
    if not item.doc_id:
        return "（无）"
    return kind_of(titles.get(item.doc_id, "")) or "其他"


def _ratio(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def metrics(judged: list[Judged]) -> dict:
    """All metrics over a list of judgements (see the module docstring)."""
    answerable = [j for j in judged if j.item.answerable]
    unanswerable = [j for j in judged if not j.item.answerable]
    refused = [j for j in judged if not j.found]
    ranks = [j.rank for j in answerable]
    return {
        "questions": len(judged),
        "answerable": len(answerable),
        "answer_accuracy": _ratio([j.correct for j in answerable]),
        "answer_accuracy_lenient": _ratio([j.correct_lenient for j in answerable]),
        "citation_accuracy": _ratio([bool(j.cited) for j in answerable]),
        "clause_accuracy": _ratio([bool(j.clause_ok) for j in answerable]),
        "hit@1": _ratio([r is not None and r <= 1 for r in ranks]),
        "hit@3": _ratio([r is not None and r <= 3 for r in ranks]),
        "hit@5": _ratio([r is not None and r <= 5 for r in ranks]),
        "mrr": round(statistics.fmean(1 / r if r else 0.0 for r in ranks), 4) if ranks else None,
        "refusal_precision": _ratio([not j.item.answerable for j in refused]),
        "refusal_recall": _ratio([not j.found for j in unanswerable]),
        "overall_accuracy": _ratio([j.correct for j in judged]),
        "latency_p50_ms": _percentile([j.latency_ms for j in judged], 0.5),
        "latency_p95_ms": _percentile([j.latency_ms for j in judged], 0.95),
    }


def by_type(judged: list[Judged]) -> dict[str, dict]:
    present = {j.item.type for j in judged}
    types = [t for t in TYPES if t in present] + sorted(present - set(TYPES))
    return {t: metrics([j for j in judged if j.item.type == t]) for t in types}


def by_corpus(judged: list[Judged]) -> dict[str, dict]:
    return _grouped(judged, lambda j: j.item.corpus)


def by_kind(judged: list[Judged]) -> dict[str, dict]:
    return _grouped(judged, lambda j: j.kind)


def _grouped(judged: list[Judged], key: Callable[[Judged], str]) -> dict[str, dict]:
    """Metrics per group, groups in order of first appearance."""
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        groups.setdefault(key(j), []).append(j)
    return {name: metrics(members) for name, members in groups.items()}


def misses_by_document(judged: list[Judged]) -> dict[str, list[Judged]]:
    """Wrong answers and wrong citations, grouped by the gold document (in order of first miss)."""
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        if not j.correct or j.cited is False:
            groups.setdefault(j.item.doc_id or "（无文件）", []).append(j)
    return groups


def write_results(judged: list[Judged], report: dict, out: Path) -> None:
    """results.jsonl (one line per question) and report.json; ``rag.report`` renders the HTML."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for j in judged:
            row = {
                **asdict(j.item),
                "kind": j.kind,
                "answer": j.answer["answer"],
                "short_answer": j.answer.get("short_answer"),
                "found": j.found,
                "correct": j.correct,
                "correct_lenient": j.correct_lenient,
                "cited": j.cited,
                "clause_ok": j.clause_ok,
                "rank": j.rank,
                "latency_ms": round(j.latency_ms, 1),
                "citations": j.answer["citations"],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def evaluate(
    ask: Callable[[str, Any], Answer],
    items: list[GoldItem],
    modes: Sequence[Any] = ("hybrid", "bm25", "dense"),
    about: dict | None = None,
    progress: Callable[[int], None] | None = None,
    titles: Mapping[str, str] | None = None,
) -> tuple[dict, list[Judged]]:
    """Run every question once per retriever: ``modes`` are retriever objects (each reported
    under its ``name``) or mode names, each handed to ``ask(question, retriever)``. The first
    is the one reported in detail (by corpus, type and document kind, results.jsonl, misses).
    ``titles``: doc id → title, for the document kinds."""
    runs = {}
    done = 0
    for retriever in modes:
        step = progress and (lambda n, base=done: progress(base + n))
        name = getattr(retriever, "name", retriever)
        runs[name] = run(lambda q, r=retriever: ask(q, r), items, step, titles)
        done += len(items)
    primary = next(iter(runs))
    report = {
        **(about or {}),
        "questions": len(items),
        "primary": primary,
        "modes": {mode: metrics(judged) for mode, judged in runs.items()},
        "by_corpus": by_corpus(runs[primary]),
        "by_type": by_type(runs[primary]),
        "by_kind": by_kind(runs[primary]),
    }
    return report, runs[primary]


GATED = (
    "answer_accuracy",
    "answer_accuracy_lenient",
    "citation_accuracy",
    "refusal_precision",
    "refusal_recall",
)


def below_thresholds(summary: dict, thresholds: dict[str, float]) -> list[str]:
    """Metrics under their threshold, as readable lines (empty: the gate passes)."""
    return [
        f"{name} {summary.get(name)} < {minimum}"
        for name, minimum in thresholds.items()
        if summary.get(name) is None or summary[name] < minimum
    ]
