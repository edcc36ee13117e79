"""Optional generative answers through any OpenAI-compatible chat endpoint.

The model sees only the numbered retrieved passages and must cite them as [n]. Its markers are
parsed back into citations (renumbered in order of first use). An answer without a valid marker,
an error or a timeout falls back to the extractive answer, so the endpoint can only add fluency,
never remove the citation. Weak evidence is refused before the model is asked at all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import httpx
import numpy as np

from rag.answer import NOT_FOUND, citation, rank_sentences
from rag.index import Index
from rag.types import Answer, Hit

log = logging.getLogger(__name__)
MARKER = re.compile(r"\[(\d{1,2})\]")
SYSTEM = (
    "你是政府政策问答助手。只能依据用户提供的编号政策原文回答，不得使用原文以外的知识。"
    "回答简短准确，先给出结论（如责任单位、数字、时间），并在依据处用[编号]标注来源。"
    f"如果原文没有相关规定，只回答：{NOT_FOUND}"
)


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 30.0


def prompt(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    passages = "\n\n".join(
        f"[{n}]《{h.chunk.title}》{h.chunk.clause_path}\n{h.chunk.text}"
        for n, h in enumerate(hits, start=1)
    )
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"政策原文：\n{passages}\n\n问题：{question}"},
    ]


def complete(config: LLMConfig, messages: list[dict[str, str]]) -> str:
    """One chat completion; raises httpx errors, KeyError/ValueError on a malformed reply."""
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    response = httpx.post(
        config.base_url.rstrip("/") + "/chat/completions",
        json={"model": config.model, "messages": messages, "temperature": 0},
        headers=headers,
        timeout=config.timeout,
    )
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]


def generate(extractive: Answer, index: Index, vector: np.ndarray, config: LLMConfig) -> Answer:
    """The model's answer with its [n] markers turned into citations, or ``extractive``."""
    hits = list(extractive.hits)
    if not extractive.found or not hits:
        return extractive
    try:
        text = complete(config, prompt(extractive.question, hits))
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as e:
        log.warning("LLM endpoint failed (%s); using the extractive answer", e)
        return extractive
    if not isinstance(text, str):  # e.g. content null after a refusal or a tool call
        return extractive
    text = text.strip()
    best_in = {}
    for c in rank_sentences(extractive.question, hits, index, vector):
        best_in.setdefault(c.hit.chunk.chunk_id, c)  # the best sentence of each passage
    used = [n for n in _used_passages(text, len(hits)) if hits[n - 1].chunk.chunk_id in best_in]
    if not used:
        return extractive
    citations = tuple(citation(best_in[hits[n - 1].chunk.chunk_id]) for n in used)
    renumber = {n: i for i, n in enumerate(used, start=1)}
    text = MARKER.sub(lambda m: f"[{renumber.get(int(m.group(1)), '?')}]", text)
    return replace(extractive, answer=text, citations=citations, mode="generative")


def _used_passages(text: str, count: int) -> list[int]:
    """Valid passage numbers in order of first use.

    >>> _used_passages("区医保局[2]，另见[1][2][9]", 3)
    [2, 1]
    """
    used: list[int] = []
    for m in MARKER.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= count and n not in used:
            used.append(n)
    return used
