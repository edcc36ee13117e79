"""jieba's base dictionary is read once per process; each ``Terms`` adds its words to a copy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import jieba

from rag import terms
from rag.terms import Terms


def test_words_stay_with_their_own_terms():
    unit = "区医保局"
    assert unit in Terms([unit])("谁负责区医保局的结算？")
    assert unit not in Terms(["市税务局"])("谁负责区医保局的结算？")
    assert unit not in Terms()("谁负责区医保局的结算？")
    assert unit not in terms._base_tokenizer().FREQ
    assert unit not in jieba.dt.FREQ  # jieba's global tokenizer is untouched too


def test_the_base_dictionary_loads_once_even_from_many_threads(monkeypatch):
    loaded = terms._base_tokenizer()  # the dictionary as read once for the whole session
    monkeypatch.setattr(terms, "_base", [])
    loads = []

    def counted(self, *args, **kwargs):
        """A load that takes a while, as reading the file does, without reading it again."""
        loads.append(self)
        time.sleep(0.05)  # the other threads arrive meanwhile
        self.FREQ, self.total, self.initialized = loaded.FREQ, loaded.total, True

    monkeypatch.setattr(jieba.Tokenizer, "initialize", counted)
    units = [f"第{n}号测试单位" for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda u: Terms([u]), units))
    assert len(loads) == 1
    for unit, t in zip(units, made, strict=True):
        assert unit in t(f"请问{unit}在哪")
        others = [u for u in units if u != unit]
        assert not any(u in t._jieba.FREQ for u in others)
