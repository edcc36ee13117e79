"""The two ways e5 turns prompted texts into vectors: ONNX Runtime (questions) and torch (ingest).

Both share one tokenizer (``tokenizer.json`` through the ``tokenizers`` library, truncated at
512 tokens like sentence-transformers) and one pooling (mean over real tokens, L2-normalised in
fp32), so their vectors live in the same space. ONNX answers one question in a few ms and does
not import torch, which keeps ``rag serve`` light; torch embeds the many passages of an ingest,
in batches of similar length (no padding waste) and in bf16 where the CPU has bf16 units.
"""

from __future__ import annotations

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
    """``input_ids`` and ``attention_mask`` (int64), right-padded to the longest text.

    Trailing whitespace is dropped first, as transformers' tokenizer does (the bare tokenizer
    would add a "▁" token for it and move the vector off the sentence-transformers one)."""
    encodings = tokenizer.encode_batch([t.rstrip() for t in texts])
    width = max(len(e.ids) for e in encodings)
    ids = np.ones((len(texts), width), dtype=np.int64)  # 1 = <pad> in XLM-R's vocabulary
    mask = np.zeros((len(texts), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask


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


class OnnxEncoder:
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

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            session = self.session  # built once, even when two questions arrive together
        tokenizer = load_tokenizer(self.model_dir)
        out: list[np.ndarray | None] = [None] * len(texts)
        lengths = [len(t) for t in texts]
        for batch in length_batches(lengths, batch_size):
            ids, mask = token_arrays(tokenizer, [texts[i] for i in batch])
            embeds = word_embeddings(self.model_dir)[ids]
            hidden = session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
            for i, vector in zip(batch, mean_pooled(hidden, mask), strict=True):
                out[i] = vector
        return np.stack(out)


class TorchEncoder:
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

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        with self._lock:
            model = self.model
        tokenizer = load_tokenizer(self.model_dir)
        out: list[np.ndarray | None] = [None] * len(texts)
        lengths = [len(t) for t in texts]
        bf16 = self.precision == "bf16"
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            for batch in length_batches(lengths, batch_size):
                ids, mask = token_arrays(tokenizer, [texts[i] for i in batch])
                hidden = model(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                ).last_hidden_state
                pooled = mean_pooled(hidden.float().numpy(), mask)
                for i, vector in zip(batch, pooled, strict=True):
                    out[i] = vector
        return np.stack(out)
