"""How an answer is put into words for a reader who is not on the chat page: the OpenAI-compatible
endpoint and the chat-tool bots reply with the answer and numbered reference links; the streaming
routes (``/api/ask/stream``, ``/v1`` with ``stream``) send it in short pieces.

One module that the API, the OpenAI route and the bots all import, so none imports another.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from rag.types import Answer


def pieces(text: str, size: int = 8) -> list[str]:
    """Split text for streaming at punctuation, at most ``size`` characters a piece.

    >>> pieces("区医保局。依据：《通知》", size=4)
    ['区医保局', '。', '依据：', '《通知》']
    """
    out: list[str] = []
    for part in re.findall(r"[^，。；：,;:、]+[，。；：,;:、]?|[，。；：,;:、]", text):
        out.extend(part[i : i + size] for i in range(0, len(part), size))
    return out


def citation_url(public_url: str, c) -> str:
    return f"{public_url.rstrip('/')}/docs/{quote(c.doc_id)}?start={c.start}&end={c.end}#hl"


def chat_url(public_url: str, question: str, limit: int = 60) -> str:
    """A link that asks ``question`` on the chat page (long questions are cut: links in chat
    messages must stay short)."""
    return f"{public_url.rstrip('/')}/?q={quote(question[:limit])}"


def reply_text(
    answer: Answer, public_url: str, limit: int, markdown: bool = False, size=len
) -> str:
    """The answer and its numbered references, within ``limit`` (as measured by ``size``).

    A reply over the limit keeps what references fit in half of it, cuts the answer, and ends
    with a link to the full answer on the chat page. A refusal says so (the answer text starts
    with 未在已收录的政策文件中找到相关规定) and lists the closest clauses as possibly related.
    """
    label = "依据" if answer.found else "可能相关的条款"
    refs = []
    for n, c in enumerate(answer.citations, start=1):
        where = f"《{c.title}》{c.clause_path or '正文'}"
        url = citation_url(public_url, c)
        refs.append(f"{n}. [{where}]({url})" if markdown else f"[{n}] {where}\n{url}")

    def tail() -> str:
        return f"\n\n{label}：\n" + "\n".join(refs) if refs else ""

    if size(answer.answer + tail()) <= limit:
        return answer.answer + tail()
    more = f"\n\n完整回答：{chat_url(public_url, answer.question)}"
    while refs and size(tail() + more) > limit // 2:
        refs.pop()
    room = limit - size(tail() + more + "…")
    body = answer.answer
    lo, hi = 0, len(body)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if size(body[:mid]) <= room else (lo, mid - 1)
    return f"{body[:lo]}…{tail()}{more}"
