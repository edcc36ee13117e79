"""The two ways e5 turns prompted texts into vectors: ONNX Runtime (questions) and torch (ingest).

Both share one tokenizer (``tokenizer.json`` through the ``tokenizers`` library, truncated at
512 tokens like sentence-transformers) and one pooling (mean over real tokens, L2-normalised in
fp32), so their vectors live in the same space. ONNX answers one question in a few ms and does
not import torch, which keeps ``rag serve`` light; at ingest either engine embeds the passages in
batches of similar length (no padding waste), and ``encode_spans`` also pools each sentence's
tokens from its passage's pass, so sentences need no forward pass of their own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from pathlib import Path

import numpy as np

MAX_TOKENS = 512  # sentence-transformers' max_seq_length for this model


@functools.cache
def load_tokenizer(model_dir: Path):
    """The model's fast tokenizer, truncating at ``MAX_TOKENS`` (cached per folder)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


@functools.cache
def word_embeddings(model_dir: Path) -> np.ndarray:
    """The word-embedding table of ``model.safetensors``, memory-mapped (read-only, float32).

    safetensors is an 8-byte little-endian header length, a JSON header naming each tensor's
    dtype, shape and byte range, then the data."""
    path = model_dir / "model.safetensors"
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(size))[WORD_EMBEDDINGS]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}: {WORD_EMBEDDINGS} is {entry['dtype']}, expected F32")
    start = 8 + size + entry["data_offsets"][0]
    return np.memmap(path, dtype="<f4", mode="r", offset=start, shape=tuple(entry["shape"]))


def token_arrays(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` (int64), right-padded to the longest text."""
    ids, mask, _ = tokens_with_offsets(tokenizer, texts)
    return ids, mask


def tokens_with_offsets(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list]:
    """``token_arrays`` plus each text's token character offsets (``(0, 0)`` for <s> and </s>).

    Trailing whitespace is dropped first, as transformers' tokenizer does (the bare tokenizer
    would add a "▁" token for it and move the vector off the sentence-transformers one)."""
    encodings = tokenizer.encode_batch([t.rstrip() for t in texts])
    width = max(len(e.ids) for e in encodings)
    ids = np.ones((len(texts), width), dtype=np.int64)  # 1 = <pad> in XLM-R's vocabulary
    mask = np.zeros((len(texts), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask, [e.offsets for e in encodings]


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the real tokens' states, L2-normalised, in float32.

    >>> h = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    >>> [round(float(x), 4) for x in mean_pooled(h, np.array([[1, 1, 0]]))[0]]
    [0.7071, 0.7071]
    """
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    mean = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    return (mean / np.maximum(norms, 1e-12)).astype(np.float32)


def length_batches(lengths: list[int], size: int) -> list[list[int]]:
    """Positions grouped into batches of at most ``size``, longest first, so each batch pads
    only to texts of about its own length (padding is wasted work; results do not change).

    >>> length_batches([3, 90, 5, 80, 4], 2)
    [[1, 3], [2, 4], [0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


def span_mask(offsets: list[tuple[int, int]], spans: list[tuple[int, int]], width: int):
    """Which tokens each character span covers: a token belongs to a span it overlaps (the
    sentence's own tokens, in the context of the whole passage); <s>, </s> and padding never.

    >>> span_mask([(0, 0), (0, 2), (2, 3), (3, 5), (0, 0)], [(0, 3), (3, 4), (9, 10)], 6)
    array([[0, 1, 1, 0, 0, 0],
           [0, 0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    tokens = np.array(offsets, dtype=np.int64).reshape(-1, 2)
    wanted = np.array(spans, dtype=np.int64).reshape(-1, 2)
    real = tokens[:, 1] > tokens[:, 0]
    inside = (tokens[None, :, 0] < wanted[:, 1, None]) & (tokens[None, :, 1] > wanted[:, 0, None])
    out = np.zeros((len(wanted), width), dtype=np.int64)
    out[:, : len(tokens)] = inside & real[None, :]
    return out


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 natively (avx512_bf16 or AMX); emulated bf16 is slower
    than fp32, so ``embed_precision=auto`` only picks bf16 here."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def load_bert(model_dir: Path, **options):
    """The converted folder as a transformers ``BertModel`` in eval mode, offline and quiet (no
    pooler: e5 mean-pools, so its weights are left unused on purpose)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, **options)
    return model.eval()


class _Encoder:
    """The loop both engines share: tokenise length-sorted batches, run the encoder, mean-pool
    every text (and, when asked, every character span of it) in float32."""

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _running(self):
        return contextlib.nullcontext()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encode_spans(texts, [[] for _ in texts], batch_size)[0]

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector, and one vector per ``(start, end)`` character span of it: the mean
        of the span's tokens' states from the same forward pass (a span without a token, e.g.
        cut off at ``MAX_TOKENS``, gets a zero row)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        tokenizer = load_tokenizer(self.model_dir)
        out: list = [None] * len(texts)
        parts: list = [None] * len(texts)
        with self._running():
            for batch in length_batches([len(t) for t in texts], batch_size):
                ids, mask, offsets = tokens_with_offsets(tokenizer, [texts[i] for i in batch])
                hidden = self._hidden(ids, mask)
                pooled = mean_pooled(hidden, mask)
                for row, i in enumerate(batch):
                    out[i] = pooled[row]
                    covered = span_mask(offsets[row], spans[i], ids.shape[1])
                    sums = covered.astype(np.float32) @ hidden[row].astype(np.float32)
                    norms = np.linalg.norm(sums, axis=1, keepdims=True)
                    parts[i] = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        return np.stack(out), parts


class OnnxEncoder(_Encoder):
    """The exported encoder (``onnx/encoder-q4ffn.onnx``: token vectors + mask → hidden states)
    on ONNX Runtime's CPU provider, with a fixed number of intra-op threads; loads at the first
    call.

    The 250k × 384 word-embedding table (four fifths of the weights) stays out of the graph: its
    rows are read from the safetensors file through a memory map, so loading is quick and a
    server keeps only the rows its questions touch in memory."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int = 1):
        self.model_dir, self.onnx_file, self.threads = model_dir, onnx_file, threads
        self._lock = threading.Lock()

    @functools.cached_property
    def session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(
            str(self.onnx_file), options, providers=["CPUExecutionProvider"]
        )

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._lock:
            session = self.session  # built once, even when two questions arrive together
        embeds = word_embeddings(self.model_dir)[ids]
        return session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]


class TorchEncoder(_Encoder):
    """The safetensors weights through ``transformers``' BertModel, in fp32 or bf16 autocast
    (pooling and normalisation stay fp32), with its own thread budget; loads at the first call.
    """

    def __init__(self, model_dir: Path, precision: str = "fp32", threads: int = 0):
        self.model_dir, self.precision, self.threads = model_dir, precision, threads
        self._lock = threading.Lock()

    @functools.cached_property
    def model(self):
        import torch

        if self.threads > 0:
            torch.set_num_threads(self.threads)
        return load_bert(self.model_dir)

    @contextlib.contextmanager
    def _running(self):
        import torch

        bf16 = self.precision == "bf16"
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            yield

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with self._lock:
            model = self.model
        hidden = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return hidden.last_hidden_state.float().numpy()
