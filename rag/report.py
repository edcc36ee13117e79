"""The self-contained HTML evaluation report (no external CSS/JS: it opens from a file)."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, select_autoescape

from rag.evaluate import Judged, misses_by_document, squash
from rag.site import TEMPLATES
from rag.types import short_text


def _mark(text: str, evidence: str | None) -> list[tuple[str, bool]]:
    """Split ``text`` into (piece, is_evidence) so the template can highlight the evidence."""
    if not evidence:
        return [(text, False)]
    target = squash(evidence)
    folded = squash(text)
    at = folded.find(target)
    if at < 0:
        return [(text, False)]
    # map squashed offsets back to text offsets (squash only drops whitespace)
    keep = [i for i, ch in enumerate(text) if not ch.isspace()]
    start, end = keep[at], keep[at + len(target) - 1] + 1
    return [(text[:start], False), (text[start:end], True), (text[end:], False)]


def render_html(report: dict, judged: list[Judged]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    groups = misses_by_document(judged)
    misses = [j for group in groups.values() for j in group]
    return env.get_template("eval_report.html").render(
        report=report,
        misses=misses,
        groups=groups,
        judged=judged,
        mark=_mark,
        short=short_text,
    )
