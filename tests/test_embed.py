"""The e5 embedder's plumbing without the model: batching, pooling, prompts, settings, imports.

The real model's numbers (ONNX vs torch cosine, bf16 vs fp32) are in test_real_model.py (slow).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.e5_encoders import _Encoder, cpu_has_bf16, length_batches, mean_pooled
from rag.embed import E5Embedder, HashingEmbedder, make_embedder
from rag.settings import BadSetting, Settings
from rag.zh import fold

from .conftest import CORPUS, DOC

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("size", [1, 3, 32])
def test_length_batches_cover_every_position_once_longest_first(size):
    lengths = [len(t) for t in ["a" * n for n in (5, 300, 12, 12, 0, 77, 140, 9, 64, 2)]]
    batches = length_batches(lengths, size)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= size for b in batches)
    ordered = [lengths[i] for i in flat]
    assert ordered == sorted(ordered, reverse=True)  # each batch pads to its own length only


def test_length_batches_of_nothing():
    assert length_batches([], 8) == []


def test_mean_pooling_ignores_padding_and_normalises():
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=(2, 5, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    pooled = mean_pooled(hidden, mask)
    noisy = hidden.copy()
    noisy[0, 3:] = 1e6  # what sits on padded positions must not matter
    assert np.allclose(mean_pooled(noisy, mask), pooled)
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-6)
    want = hidden[0, :3].mean(axis=0)
    assert np.allclose(pooled[0], want / np.linalg.norm(want), atol=1e-6)
    assert pooled.dtype == np.float32


def test_mean_pooling_of_bf16_like_input_is_float32():
    hidden = np.ones((1, 2, 4), dtype=np.float16)
    assert mean_pooled(hidden, np.array([[1, 1]])).dtype == np.float32


class _Recorder:
    """Stands in for an encoder: remembers the texts and returns one-hot-ish vectors."""

    def __init__(self):
        self.seen: list[list[str]] = []

    def encode(self, texts, batch_size=32):
        self.seen.append(list(texts))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        out[np.arange(len(texts)), [len(t) % 384 for t in texts]] = 1.0
        return out


def _fake_e5(tmp_path: Path) -> tuple[E5Embedder, _Recorder, _Recorder]:
    e5 = E5Embedder(tmp_path, precision="fp32")
    passages, queries = _Recorder(), _Recorder()
    e5.__dict__["passage_encoder"], e5.__dict__["query_encoder"] = passages, queries
    return e5, passages, queries


def test_e5_prompts_go_to_the_right_encoder(tmp_path):
    e5, passages, queries = _fake_e5(tmp_path)
    docs = e5.embed_documents(["第一条 总则", "二"])
    q = e5.embed_query("谁负责")
    assert passages.seen == [["passage: 第一条 总则", "passage: 二"]]
    assert queries.seen == [["query: 谁负责"]]
    assert docs.shape == (2, 384) and q.shape == (384,)


def test_e5_construction_loads_nothing(tmp_path):
    e5 = E5Embedder(tmp_path / "no-model-here")
    assert "passage_encoder" not in e5.__dict__ and "query_encoder" not in e5.__dict__


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"embed_query_engine": "tensorrt"}, "RAG_EMBED_QUERY_ENGINE"),
        ({"embed_precision": "int8"}, "RAG_EMBED_PRECISION"),
    ],
)
def test_bad_engine_settings_name_the_variable(tmp_path, changes, word):
    with pytest.raises(BadSetting, match=word):
        make_embedder("e5-small", tmp_path, Settings(**changes))


def test_make_embedder_passes_the_settings_on(tmp_path):
    s = Settings(
        embed_query_engine="torch",
        embed_precision="fp32",
        query_threads=2,
        ingest_threads=3,
        ingest_nice=4,
    )
    e5 = make_embedder("e5-small", tmp_path, s)
    assert isinstance(e5, E5Embedder)
    assert (e5.query_engine, e5.precision, e5.query_threads) == ("torch", "fp32", 2)
    assert (e5.ingest_threads, e5.ingest_nice) == (3, 4)
    assert isinstance(make_embedder("hashing", tmp_path, s), HashingEmbedder)


def test_auto_precision_follows_the_cpu(tmp_path):
    assert E5Embedder(tmp_path, precision="auto").precision == (
        "bf16" if cpu_has_bf16() else "fp32"
    )
    assert E5Embedder(tmp_path).precision == "fp32"  # bf16 did not earn its place (README)


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no os.nice here")
def test_ingest_priority_is_lowered_for_the_calling_thread_only():
    from rag.embed import _lower_priority

    seen = []  # the thread ends with its niceness: this test's own thread must keep its own
    t = threading.Thread(target=lambda: (_lower_priority(5), seen.append(os.nice(0))))
    t.start()
    t.join()
    worker, main = seen[0], os.nice(0)
    if main + 5 > 19:  # niceness stops at 19: a run already lowered this far cannot show it
        pytest.skip(f"this process already runs at niceness {main}")
    assert worker == main + 5  # the ingest thread yields; the thread answering questions not


def test_serving_modules_do_not_import_torch():
    """The server answers questions through ONNX: importing it must not pull in torch (≈2 s
    and hundreds of MB) nor sentence-transformers/transformers."""
    out = _run(
        "import sys\n"
        "import rag.server, rag.cli, rag.engine, rag.embed, rag.e5_encoders\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    assert out == "[]"


# --- sentence vectors pooled from the chunk's own pass (RAG_SENTENCE_VECTORS=span) ---------


def _char_tokenizer(folder: Path, alphabet: str) -> Path:
    """A tokenizer.json splitting text into single characters, with <s> … </s> around them: the
    shape of the real one (special tokens at offset (0, 0)) without the model."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    vocab.update({ch: 4 + i for i, ch in enumerate(alphabet)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


class _TableEncoder(_Encoder):
    """An encoder whose state for a token is a fixed random row of its id: pooling can be
    checked by hand, and padding (id 1) carries a huge state that must never leak in."""

    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self.table = np.random.default_rng(7).normal(size=(64, 384)).astype(np.float32)
        self.table[1] = 1e6

    def _hidden(self, ids, mask):
        return self.table[ids]


ALPHABET = "甲乙丙丁戊己庚辛壬癸。，passge: "


def _normalised(rows: np.ndarray) -> np.ndarray:
    mean = rows.mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_span_vectors_are_the_mean_of_the_span_tokens_of_the_same_pass(tmp_path):
    folder = _char_tokenizer(tmp_path / "tok", ALPHABET)
    encoder = _TableEncoder(folder)
    texts = ["甲乙丙。丁戊。", "己。", "庚辛壬癸。甲乙丙丁戊己。"]
    spans = [[(0, 4), (4, 7)], [], [(5, 12), (40, 50)]]
    vectors, parts = encoder.encode_spans(texts, spans, batch_size=2)
    ids = {ch: 4 + i for i, ch in enumerate(ALPHABET)}
    for text, own, got in zip(texts, spans, parts, strict=True):
        assert got.shape == (len(own), 384) and got.dtype == np.float32
        for (a, b), vector in zip(own, got, strict=True):
            if a >= len(text):  # past the end: no token, a zero row (the embedder fills it)
                assert not vector.any()
                continue
            want = _normalised(encoder.table[[ids[ch] for ch in text[a:b]]])
            assert np.allclose(vector, want, atol=1e-5)
    # the text's own vector is the usual mean over every real token, <s> and </s> included
    whole = [0, *(ids[ch] for ch in texts[0]), 2]
    assert np.allclose(vectors[0], _normalised(encoder.table[whole]), atol=1e-5)
    assert np.allclose(encoder.encode(texts, batch_size=1), vectors, atol=1e-5)


class _SpanRecorder(_Recorder):
    """A passage encoder that pools spans: a span's vector marks its length; zero when it lies
    past the text's end, as the real encoder does for a span cut off at 512 tokens."""

    def __init__(self):
        super().__init__()
        self.spans: list = []

    def encode_spans(self, texts, spans, batch_size=32):
        self.spans.append(spans)
        parts = []
        for text, own in zip(texts, spans, strict=True):
            rows = np.zeros((len(own), 384), dtype=np.float32)
            for j, (a, b) in enumerate(own):
                if b <= len(text):
                    rows[j, (b - a) % 384] = 1.0
            parts.append(rows)
        return self.encode(texts), parts


def test_e5_passages_shift_spans_past_the_prompt_and_embed_unreached_ones_alone(tmp_path):
    e5 = E5Embedder(tmp_path, sentence_vectors="span")
    recorder = _SpanRecorder()
    e5.__dict__["passage_encoder"] = recorder
    texts = ["标题 一、\n甲乙丙。丁戊。", "短"]
    vectors, parts = e5.embed_passages(texts, [[(6, 10), (10, 13), (9, 40)], []])
    shift = len("passage: ")
    assert recorder.spans[0] == [[(6 + shift, 10 + shift), (10 + shift, 13 + shift),
                                  (9 + shift, 40 + shift)], []]  # fmt: skip
    assert vectors.shape == (2, 384) and [p.shape for p in parts] == [(3, 384), (0, 384)]
    assert parts[0][0].argmax() == 4 and parts[0][1].argmax() == 3
    # the span past the end was embedded alone: the recorder saw its text with the prompt
    assert recorder.seen[-1] == ["passage: " + texts[0][9:40]]
    assert parts[0][2].argmax() == len("passage: " + texts[0][9:40]) % 384


@pytest.mark.parametrize(
    "changes, word",
    [({"embed_passage_engine": "openvino"}, "RAG_EMBED_PASSAGE_ENGINE"),
     ({"sentence_vectors": "both"}, "RAG_SENTENCE_VECTORS")],
)  # fmt: skip
def test_bad_ingest_settings_name_the_variable(tmp_path, changes, word):
    with pytest.raises(BadSetting, match=word):
        make_embedder("e5-small", tmp_path, Settings(**changes))


class SpanHashing(HashingEmbedder):
    """The hashing embedder pooling sentence vectors from passages (``sentence_vectors="span"``):
    a span's vector is the hashing vector of the passage's characters there, so a test can tell
    which text each stored vector came from. Counts passes and spans."""

    sentence_vectors = "span"

    def __init__(self):
        super().__init__()
        self.passes: list[str] = []
        self.alone: list[str] = []

    def embed_documents(self, texts):
        self.alone.extend(texts)
        return super().embed_documents(texts)

    def embed_passages(self, texts, spans):
        self.passes.extend(texts)
        vectors = HashingEmbedder.embed_documents(self, texts)
        parts = [
            HashingEmbedder.embed_documents(self, [t[a:b] for a, b in own]).reshape(-1, 256)
            for t, own in zip(texts, spans, strict=True)
        ]
        return vectors, parts


def _small_corpus(tmp_path: Path, numbers=("002", "003")) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in numbers:
        shutil.copy2(CORPUS / f"{DOC[n]}.txt", corpus)
    return corpus


def _build(corpus: Path, index: Path, embedder, count_tokens):
    from rag.build import build_index

    return build_index(corpus, index, embedder, count_tokens)


def test_span_build_embeds_each_chunk_once_and_stores_its_sentences_from_it(tmp_path, count_tokens):
    from rag.chunk import passage_text
    from rag.index import Index

    corpus = _small_corpus(tmp_path)
    embedder = SpanHashing()
    report = _build(corpus, tmp_path / "index", embedder, count_tokens)
    index = Index.load(tmp_path / "index")
    texts = {passage_text(c) for c in index.chunks}
    assert sorted(embedder.passes) == sorted(texts) and embedder.alone == []
    assert report.passes == len(texts) and report.embedded == len(texts) + len(index.sentence_rows)
    assert index.manifest["sentence_vectors"] == "span"
    fresh = HashingEmbedder()
    holding = 0
    for (doc_id, s, e), row in index.sentence_rows.items():
        sentence = fold(index.trees[doc_id].doc.text[s:e])
        want = fresh.embed_documents([sentence])[0]
        assert float(index.sentence_vector(doc_id, s, e) @ want) > 0.999, sentence
        holding += any(c.doc_id == doc_id and c.start <= s and e <= c.end for c in index.chunks)
    assert holding == len(index.sentence_rows) > 0  # every stored sentence lies in a chunk


def test_span_build_reuses_unchanged_chunks_and_switching_modes_rebuilds(tmp_path, count_tokens):
    from rag.chunk import passage_text
    from rag.index import Index

    corpus = _small_corpus(tmp_path)
    first = SpanHashing()
    _build(corpus, tmp_path / "index", first, count_tokens)
    before = Index.load(tmp_path / "index")
    kept = {k: before.sentence_vector(*k) for k in before.sentence_rows}
    again = SpanHashing()
    assert not _build(corpus, tmp_path / "index", again, count_tokens).changed
    assert again.passes == []

    path = corpus / f"{DOC['003']}.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n九、附则\n本计划自印发之日起施行。\n",
                    encoding="utf-8")  # fmt: skip
    changed = SpanHashing()
    report = _build(corpus, tmp_path / "index", changed, count_tokens)
    after = Index.load(tmp_path / "index")
    assert report.changed and 0 < report.passes < len(after.chunks)
    owners = {passage_text(c): c.doc_id for c in after.chunks}
    assert {owners[t] for t in changed.passes} == {DOC["003"]}  # only the edited document
    untouched = [k for k in kept if k[0] == DOC["002"]]
    assert untouched and all(np.array_equal(after.sentence_vector(*k), kept[k]) for k in untouched)

    own = HashingEmbedder()  # the same model id, sentences embedded alone: a full rebuild
    assert _build(corpus, tmp_path / "index", own, count_tokens).changed
    assert Index.load(tmp_path / "index").manifest["sentence_vectors"] == "own"


def test_only_sentences_that_can_answer_get_a_vector(hashing_settings):
    """What candidates look up (sentences of chunks, bare headings left out) all have a
    vector; headings and sentences no chunk holds whole do not cost one."""
    from rag.clauses import bare_heading
    from rag.index import Index
    from rag.zh import sentence_spans

    index = Index.load(hashing_settings.index_dir)
    every = {(d, s, e) for d, t in index.trees.items() for s, e in sentence_spans(t.doc.text)}
    looked_up = set()
    for c in index.chunks:
        tree = index.trees[c.doc_id]
        for s, e in sentence_spans(tree.doc.text, c.start, c.end):
            if not bare_heading(tree.doc.text, tree.clause_at(s), s, e):
                looked_up.add((c.doc_id, s, e))
    stored = set(index.sentence_rows)
    assert looked_up & every <= stored <= every
    assert len(stored) < len(every)  # the bundled documents have bare headings
