"""Evaluation: gold questions → per-question judgements → metrics, by type and retrieval mode.

Every question goes through ``Engine.ask`` (the code path of ``rag ask`` and the API). Gold items
point at evidence text and clause paths, not chunk ids, so re-chunking does not break them.
Comparisons are made on folded text (traditional/simplified and full/half width do not matter).

Metrics (answerable questions unless said otherwise):
- hit@1/3/5, MRR — the evidence lies inside the k-th retrieved passage;
- answer accuracy — found, and every ``must`` string is in the answer;
- citation accuracy — the evidence lies inside one of the (up to 3) citations;
- clause accuracy — the first citation is in the gold document, under the gold clause path;
- refusal precision / recall — over all questions, refusing = ``found`` is false;
- latency p50 / p95 of ``ask``.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import RagError
from rag.types import Answer
from rag.zh import fold

TYPES = ("responsibility", "fact", "paraphrase", "traditional", "unanswerable")
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

    @property
    def answerable(self) -> bool:
        return self.evidence is not None


@dataclass(frozen=True)
class Judged:
    """One question, its answer and whether each part of it was right."""

    item: GoldItem
    answer: dict
    found: bool
    correct: bool  # answerable: found with every must string; unanswerable: refused
    cited: bool | None  # evidence inside a citation (None when unanswerable)
    clause_ok: bool | None
    rank: int | None  # rank of the first retrieved passage holding the evidence
    latency_ms: float
    passages: list[dict]  # what was retrieved, for the report


def squash(text: str) -> str:
    """The comparison form: folded, without whitespace."""
    return re.sub(r"\s+", "", fold(text))


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold file; every malformed line is reported with its number."""
    if not path.is_file():
        raise BadGold(f"gold file {path} does not exist")
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
        items.append(GoldItem(str(row["id"]), str(row["type"]), row["question"],
                              tuple(row["must"]), row["evidence"], row["clause"]))  # fmt: skip
    if not items:
        raise BadGold(f"{path} holds no questions")
    return items


def judge(item: GoldItem, answer: Answer) -> Judged:
    """Compare one answer with its gold item."""
    text = squash(answer.answer)
    passages = [
        {"rank": h.rank, "doc_id": h.chunk.doc_id, "clause_path": h.chunk.clause_path,
         "text": h.chunk.text, "score": round(h.score, 4)}
        for h in answer.hits
    ]  # fmt: skip
    if not item.answerable:
        return Judged(item, answer.to_dict(), answer.found, not answer.found, None, None, None,
                      answer.latency_ms, passages)  # fmt: skip
    evidence = squash(item.evidence or "")
    rank = next((p["rank"] for p in passages if evidence in squash(p["text"])), None)
    correct = answer.found and all(squash(m) in text for m in item.must)
    cited = any(evidence in squash(c.passage) or evidence in squash(c.text)
                for c in answer.citations)  # fmt: skip
    clause_ok = bool(answer.citations) and _same_clause(item.clause, answer.citations[0])
    return Judged(item, answer.to_dict(), answer.found, correct, cited, clause_ok, rank,
                  answer.latency_ms, passages)  # fmt: skip


def _same_clause(gold: dict | None, citation) -> bool:
    if not gold:
        return False
    return citation.doc_id == gold["doc_id"] and squash(citation.clause_path).startswith(
        squash(gold["path"])
    )


def run(ask: Callable[[str], Answer], items: Iterable[GoldItem],
        progress: Callable[[int], None] | None = None) -> list[Judged]:  # fmt: skip
    results = []
    for n, item in enumerate(items, start=1):
        results.append(judge(item, ask(item.question)))
        if progress:
            progress(n)
    return results


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


def write_results(judged: list[Judged], report: dict, out: Path) -> None:
    """results.jsonl (one line per question) and report.json; ``rag.report`` renders the HTML."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for j in judged:
            row = {**asdict(j.item), "answer": j.answer["answer"], "found": j.found,
                   "correct": j.correct, "cited": j.cited, "clause_ok": j.clause_ok,
                   "rank": j.rank, "latency_ms": round(j.latency_ms, 1),
                   "citations": j.answer["citations"]}  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2),
                                     encoding="utf-8")  # fmt: skip


def evaluate(
    ask: Callable[[str, str], Answer],
    items: list[GoldItem],
    modes: tuple[str, ...] = ("hybrid", "bm25", "dense"),
    about: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict, list[Judged]]:
    """Run every question once per retrieval mode; the first mode is the one reported in
    detail (by type, results.jsonl, misses)."""
    runs = {}
    done = 0
    for mode in modes:
        runs[mode] = run(lambda q, mode=mode: ask(q, mode), items,
                         progress and (lambda n, base=done: progress(base + n)))  # fmt: skip
        done += len(items)
    primary = modes[0]
    report = {
        **(about or {}),
        "questions": len(items),
        "primary": primary,
        "modes": {mode: metrics(judged) for mode, judged in runs.items()},
        "by_type": by_type(runs[primary]),
    }
    return report, runs[primary]


GATED = ("answer_accuracy", "citation_accuracy", "refusal_precision", "refusal_recall")


def below_thresholds(summary: dict, thresholds: dict[str, float]) -> list[str]:
    """Metrics under their threshold, as readable lines (empty: the gate passes)."""
    return [
        f"{name} {summary.get(name)} < {minimum}"
        for name, minimum in thresholds.items()
        if summary.get(name) is None or summary[name] < minimum
    ]
