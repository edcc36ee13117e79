"""Keyword terms for BM25: jieba search-mode tokens of the folded text, minus stop words.

jieba splits agency names badly ("区医保局" → 区/医保/局), so the index teaches its tokenizer
every unit named in the corpus's responsibility annotations; the word list is saved with the
index so questions are cut the same way.

>>> Terms(["区医保局"])("谁负责區醫保局的结算？")
['负责', '医保', '区医保局', '结算']
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from rag.zh import fold

STOP = frozenset(
    "的 了 和 与 及 或 等 是 在 为 对 由 把 被 将 并 其 该 各 之 以 于 从 向 要 也 都 就 有 "
    "谁 哪 哪个 哪些 哪家 什么 多少 几 怎么 怎样 如何 何时 哪年 吗 呢 吧 啊 请问 一下 "
    "单位 部门".split()
)
_TERM = re.compile(r"[\w]", re.UNICODE)


_BASE_LOCK = threading.Lock()
_base: list = []  # the tokenizer with jieba's base dictionary, loaded at most once per process


def _base_tokenizer():
    """jieba's base dictionary, read once per process (about a second each time otherwise)."""
    with _BASE_LOCK:
        if not _base:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _base.append(tokenizer)
        return _base[0]


def _tokenizer(words: list[str]):
    """A tokenizer that also knows ``words``; the shared base one is never changed (``add_word``
    writes to ``FREQ`` and ``total``, so a tokenizer with words gets copies of both)."""
    base = _base_tokenizer()
    if not words:
        return base
    import jieba

    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total
    tokenizer.initialized = True
    for w in words:
        tokenizer.add_word(w, freq=2000)
    return tokenizer


class Terms:
    """A jieba tokenizer of its own (the global one stays untouched) plus the corpus's units."""

    def __init__(self, words: Iterable[str] = ()):
        self.words = sorted({fold(w) for w in words if w})
        self._jieba = _tokenizer(self.words)

    def __call__(self, text: str) -> list[str]:
        return [
            t
            for t in self._jieba.cut_for_search(fold(text))
            if t.strip() and _TERM.search(t) and t not in STOP
        ]


def words(text: str) -> list[str]:
    """The words of a (folded) text as jieba's base dictionary cuts them, in order, nothing
    dropped: where a word begins (学业后 → 学业/后, so 业后 is no word)."""
    return list(_base_tokenizer().cut(text))
