"""Calibrating the answer scorer: each question's candidates once, then a grid search in seconds.

``cases`` asks the real engine for every gold question's candidate sentences once and keeps, for
each sentence, its features (``rag.features``) and whether answering with it would be strictly
right (its short answer holds every ``must`` string, ``rag.evaluate.short_right``). ``sweep`` then
tries every ``Weights`` on a coarse grid — the five ranking weights, the coverage floor, the
fallback factor and the refusal rule's ``unfit_coverage`` — without asking again, and ranks them
by strict answer accuracy + (refusal precision + refusal recall) / 2, averaged over the corpora
(bundled gold, dev calibration). Ties go to the weights closest to the current defaults, so a
change must earn its place. Heldout questions are refused: they check generalisation.

``rag calibrate --gold eval/dev/gold.jsonl --split calibration --index …`` prints the table.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from rag.answer import candidates, choose, short_of
from rag.duties import asked
from rag.errors import BadOption, HeldOutQuestions
from rag.evaluate import GoldItem, short_right
from rag.features import term_weights
from rag.question import Need, clean_question, content_terms
from rag.weights import DEFAULT, Weights

HELD_OUT = ("dev heldout", "holdout")
# the grid: coarse on purpose (few values, round numbers) — calibration, not fitting
GRID: dict[str, tuple[float, ...]] = {
    "context": (0.3, 0.45, 0.6),
    "sentence": (0.2, 0.35, 0.5),
    "meaning": (0.0, 0.15, 0.3, 0.45),
    "rank": (0.1, 0.2, 0.3),
    "fits": (0.0, 0.15, 0.3),
    "floor": (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    "fallback": (0.6, 0.7, 0.8, 0.9, 1.0),
    "unfit_coverage": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.01),
    "unfit_agreed": (True, False),
}
RANKING = ("context", "sentence", "meaning", "rank", "fits")


@dataclass(frozen=True)
class Case:
    """One gold question: its candidate sentences' features and which of them answer it."""

    item_id: str
    corpus: str
    answerable: bool
    features: np.ndarray  # n × 5: coverage, own coverage, closeness, rank share, fits
    agreed: np.ndarray  # n flags: both retrievers rank the sentence's chunk first
    correct: np.ndarray  # n flags: answering with this sentence is strictly right


@dataclass(frozen=True)
class Row:
    """One scored sentence of a case, as ``rag.answer.choose`` reads it."""

    score: float
    coverage: float
    fits: bool
    agreed: bool
    correct: bool


@dataclass(frozen=True)
class Outcome:
    """How one ``Weights`` does over the cases."""

    weights: Weights
    objective: float
    by_corpus: dict[str, dict[str, float | None]]


def cases(engine, items: Iterable[GoldItem], progress: Callable[[int], None] | None = None):
    """Every item's candidates through the engine's retrieval (hybrid, as ``ask`` does)."""
    out: list[Case] = []
    for n, item in enumerate(items, start=1):
        if item.corpus in HELD_OUT:
            raise HeldOutQuestions(
                f"question {item.id} is on the {item.corpus} set: calibrate on "
                "--split calibration (and eval/gold.jsonl) only"
            )
        out.append(case_of(engine, item))
        if progress:
            progress(n)
    return out


def case_of(engine, item: GoldItem) -> Case:
    question = clean_question(item.question)
    index = engine.index
    if not content_terms(index.terms(question)):  # asked to clarify: always refused
        return _case(item, [], [], [])
    hits, vector = engine.retrieve(question, None, "hybrid")
    need = Need.of(question)
    terms, wanted = term_weights(question, index), asked(question)
    found = candidates(hits, index, terms, need, vector, wanted)
    rows = [(c.coverage, c.own_coverage, c.closeness, c.rank_share, float(c.fits)) for c in found]
    right = [item.answerable and short_right(item, short_of(question, c, need)) for c in found]
    return _case(item, rows, [c.agreed for c in found], right)


def _case(item: GoldItem, rows: list, agreed: list, correct: list) -> Case:
    return Case(
        item.id,
        item.corpus,
        item.answerable,
        np.array(rows, dtype=float).reshape(-1, 5),
        np.array(agreed, dtype=bool),
        np.array(correct, dtype=bool),
    )


def write_cases(found: Sequence[Case], path: Path) -> None:
    """Save the cases (JSON) to sweep again later, or with another index's cases."""
    rows = [{**{f.name: getattr(c, f.name) for f in fields(c)}} for c in found]
    for r in rows:
        r.update({k: r[k].tolist() for k in ("features", "agreed", "correct")})
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def read_cases(path: Path) -> list[Case]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        found = [
            Case(
                r["item_id"],
                r["corpus"],
                r["answerable"],
                np.array(r["features"], dtype=float).reshape(-1, 5),
                np.array(r["agreed"], dtype=bool),
                np.array(r["correct"], dtype=bool),
            )
            for r in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadOption(f"{path} holds no calibration cases ({e}): write it with --save") from e
    if any(c.corpus in HELD_OUT for c in found):
        raise HeldOutQuestions(f"{path} holds held-out questions: calibrate without them")
    return found


def ranked(case: Case, weights: Weights) -> list[Row]:
    """The case's sentences scored by ``weights``, best first (ties keep their order, as in
    ``rag.answer.score``)."""
    scores = [weights.score(*f[:4], bool(f[4])) for f in case.features]
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [
        Row(
            scores[i],
            case.features[i, 0],
            bool(case.features[i, 4]),
            bool(case.agreed[i]),
            bool(case.correct[i]),
        )
        for i in order
    ]


def judge(found: Sequence[Case], weights: Weights) -> Outcome:
    """The metrics of one ``Weights``, case by case through ``rag.answer.choose`` (the reference
    the vectorised ``sweep`` must agree with)."""
    flags = []
    for case in found:
        best, answered = choose(ranked(case, weights), weights)
        flags.append((answered, bool(answered and best and best.correct)))
    answered = np.array([[f[0]] for f in flags], dtype=bool).reshape(-1, 1)
    right = np.array([[f[1]] for f in flags], dtype=bool).reshape(-1, 1)
    return _outcomes([weights], found, answered, right)[0]


def _outcomes(weights: Sequence[Weights], found: Sequence[Case], answered, right) -> list:
    """An ``Outcome`` per column of ``answered`` / ``right`` (cases × weights flags)."""
    answerable = np.array([c.answerable for c in found])
    corpora = list(dict.fromkeys(c.corpus for c in found))
    figures = {}
    for name in corpora:
        idx = np.array([c.corpus == name for c in found])
        a, refused, ok = answerable[idx], ~answered[idx], right[idx]
        wrongly = (refused & ~a[:, None]).sum(axis=0)
        figures[name] = (ok[a].sum(axis=0), a.sum(), wrongly, refused.sum(axis=0), (~a).sum())
    out = []
    for j, w in enumerate(weights):
        by_corpus = {
            name: {
                "strict": _share(ok[j], na),
                "refusal_precision": _share(wrongly[j], refused[j]),
                "refusal_recall": _share(wrongly[j], nu),
            }
            for name, (ok, na, wrongly, refused, nu) in figures.items()
        }
        objective = float(np.mean([_objective(m) for m in by_corpus.values()]))
        out.append(Outcome(w, round(objective, 4), by_corpus))
    return out


def _share(part, whole) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _objective(m: dict[str, float | None]) -> float:
    """strict + (refusal precision + recall) / 2 (a missing figure counts 0).

    >>> _objective({"strict": 0.5, "refusal_precision": 0.6, "refusal_recall": None})
    0.8
    """
    p, r = m["refusal_precision"] or 0.0, m["refusal_recall"] or 0.0
    return round((m["strict"] or 0.0) + (p + r) / 2, 4)


def sweep(found: Sequence[Case], grid: dict[str, Sequence[float]] = GRID) -> list[Outcome]:
    """Every ``Weights`` of the grid, best first (ties: the nearest to the defaults first)."""
    combos = list(itertools.product(*(grid[k] for k in RANKING)))
    w = np.array(combos).T  # 5 × m
    top, fit = _leaders(found, w)  # per case × combo: candidate index of the top / best fitting
    offsets = np.cumsum([0] + [len(c.correct) for c in found])[:-1]
    flat_f = np.concatenate([c.features for c in found] + [np.zeros((1, 5))])
    flat_agreed = np.concatenate([c.agreed for c in found] + [np.zeros(1, bool)])
    flat_right = np.concatenate([c.correct for c in found] + [np.zeros(1, bool)])
    scores = flat_f @ w  # (N+1) × m
    empty = len(flat_f) - 1  # a zero row: the "candidate" of a case without any
    t = np.where(top >= 0, top + offsets[:, None], empty)
    f = np.where(fit >= 0, fit + offsets[:, None], empty)
    cols = np.arange(len(combos))[None, :]
    top_score, fit_score = scores[t, cols], scores[f, cols]
    top_fits = flat_f[t, 4] > 0
    has_fit = fit >= 0
    out = []
    for fallback in grid["fallback"]:
        chosen = np.where(has_fit & ~top_fits & (fit_score >= fallback * top_score), f, t)
        cov, fits, agreed = flat_f[chosen, 0], flat_f[chosen, 4] > 0, flat_agreed[chosen]
        rules = itertools.product(grid["floor"], grid["unfit_coverage"], grid["unfit_agreed"])
        for floor, unfit, needs_agreed in rules:
            loose = (cov >= unfit) & (agreed | (not needs_agreed))
            answered = (top >= 0) & (cov >= floor) & (fits | loose)
            right = answered & flat_right[chosen]
            rule = {
                "floor": floor,
                "fallback": fallback,
                "unfit_coverage": unfit,
                "unfit_agreed": needs_agreed,
            }
            weights = [Weights(*c, **rule) for c in combos]
            out += _outcomes(weights, found, answered, right)
    return sorted(out, key=lambda o: (-o.objective, _distance(o.weights)))


def _leaders(found: Sequence[Case], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each case and weight combination: the index of the top sentence and of the best
    fitting one (-1: none). ``argmax`` takes the first of equals, as a stable sort does."""
    top = np.full((len(found), w.shape[1]), -1)
    fit = np.full((len(found), w.shape[1]), -1)
    for i, case in enumerate(found):
        if not len(case.correct):
            continue
        scores = case.features @ w
        top[i] = scores.argmax(axis=0)
        fits = case.features[:, 4] > 0
        if fits.any():
            masked = np.where(fits[:, None], scores, -np.inf)
            fit[i] = masked.argmax(axis=0)
    return top, fit


def _distance(weights: Weights) -> float:
    now, was = asdict(weights), asdict(DEFAULT)
    return round(sum(abs(now[k] - was[k]) for k in now), 6)


def table(outcomes: Sequence[Outcome], rows: int = 15) -> list[str]:
    """The best ``rows`` outcomes and the current defaults, one line each."""
    names = list(GRID)
    head = ["objective", *names, "corpus: strict refP refR"]
    lines = ["  ".join(head)]
    current = next((o for o in outcomes if o.weights == DEFAULT), None)
    shown = list(outcomes[:rows]) + (
        [current] if current and current not in outcomes[:rows] else []
    )
    for o in shown:
        w = asdict(o.weights)
        corpora = "; ".join(
            f"{name}: {m['strict']} {m['refusal_precision']} {m['refusal_recall']}"
            for name, m in o.by_corpus.items()
        )
        mark = " (defaults)" if o.weights == DEFAULT else ""
        lines.append(
            f"{o.objective:.4f}  " + "  ".join(f"{w[k]:g}" for k in names) + f"  {corpora}{mark}"
        )
    return lines


def grid_of(names: Iterable[str] | None = None) -> dict[str, tuple[float, ...]]:
    """The grid, with every parameter not in ``names`` held at its default (None: sweep all).

    >>> grid_of(["floor"])["context"], len(grid_of(["floor"])["floor"]) > 1
    ((0.45,), True)
    """
    chosen = set(GRID if names is None else names)
    unknown = chosen - set(GRID)
    if unknown:
        raise BadOption(f"unknown weights {', '.join(sorted(unknown))}: use {', '.join(GRID)}")
    return {k: v if k in chosen else (getattr(DEFAULT, k),) for k, v in GRID.items()}


def around(outcomes: Sequence[Outcome], centre: Weights) -> list[str]:
    """How the objective moves when one parameter of ``centre`` moves along its grid (the
    others held): a flat line says the value hardly matters, a peak at one value is fragile."""
    objective = {o.weights: o.objective for o in outcomes}
    lines = []
    for name, values in GRID.items():
        seen = [(v, objective.get(replace(centre, **{name: v}))) for v in values]
        lines.append(f"{name}: " + "  ".join(f"{v:g}→{o}" for v, o in seen if o is not None))
    return lines
