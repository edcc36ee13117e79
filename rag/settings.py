"""All configuration in one frozen dataclass; the only module that reads environment variables.

Every field can be set with ``RAG_<NAME>`` (e.g. ``RAG_INDEX_DIR=/srv/index``). ``rag settings``
prints this table; tests check that README documents every name.

>>> Settings.from_env({"RAG_MAX_TOKENS": "128"}).max_tokens
128
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from rag.errors import BadSetting


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = _setting(
        Path("corpus"), "folder of documents (.docx, .pdf, .html, .txt, .md; sub-folders too)"
    )
    index_dir: Path = _setting(Path("index"), "folder the built index lives in")
    model_cache: Path = _setting(
        Path(platformdirs.user_cache_dir("policyqa")),
        "where the embedding model is converted to once, and tiktoken files are unpacked",
    )
    embedder: str = _setting("e5-small", "e5-small (real model) or hashing (fast, for tests)")
    embed_query_engine: str = _setting(
        "onnx", "e5 question embedding: onnx (fast, no torch at serve time) or torch (fp32)"
    )
    embed_precision: str = _setting(
        "fp32", "e5 passage embedding at ingest: fp32, bf16, or auto (bf16 if the CPU has it)"
    )
    embed_passage_engine: str = _setting(
        "onnx", "e5 passage embedding at ingest: onnx (ONNX Runtime fp32) or torch"
    )
    sentence_vectors: str = _setting(
        "own", "e5 sentence vectors: own (embedded alone) or span (pooled from the chunk's pass)"
    )
    query_threads: int = _setting(1, "threads one question's embedding may use (ONNX/torch)")
    ingest_threads: int = _setting(0, "threads ingest's embedding may use (0: all cores)")
    ingest_nice: int = _setting(10, "niceness added to ingest's embedding (questions go first)")
    max_tokens: int = _setting(256, "chunk size limit in cl100k_base tokens")
    merge_below: int = _setting(48, "sibling clauses under this many tokens are merged")
    dense_index: str = _setting(
        "auto", "flat (exact), hnsw (approximate, large corpora) or auto (hnsw from hnsw_from on)"
    )
    hnsw_from: int = _setting(100_000, "with dense_index auto: chunks from which it is hnsw")
    top_k: int = _setting(5, "passages retrieved per question")
    llm_base_url: str = _setting("", "OpenAI-compatible endpoint for generative answers (optional)")
    llm_model: str = _setting("", "model name sent to that endpoint")
    llm_api_key: str = _setting("", "API key for that endpoint")
    llm_timeout: float = _setting(30.0, "seconds to wait for the LLM before falling back")
    state_dir: Path = _setting(
        Path(platformdirs.user_data_dir("policyqa")),
        "API keys (hashed), session secret, bot replay ids, trash; keep it outside git",
    )
    page_password: str = _setting(
        "", "with API keys set, the chat page asks for this (empty: visitors get a session)"
    )
    page_session_rate: int = _setting(30, "questions a minute one chat-page session may ask")
    page_address_rate: int = _setting(
        120, "questions a minute all chat-page sessions of one client address may ask"
    )
    host: str = _setting(
        "127.0.0.1", "address rag serve binds; a non-loopback one needs an API key or allow_open"
    )
    allow_open: bool = _setting(False, "serve a non-loopback address with no API key (open API)")
    public_url: str = _setting(
        "http://127.0.0.1:8000", "where users reach the chat page; links in chat-tool replies"
    )
    max_clock_skew: int = _setting(3600, "seconds a chat tool's request timestamp may be off")
    max_upload_bytes: int = _setting(
        50_000_000, "largest upload to /admin (one request, all its files), in bytes"
    )
    wecom_corp_id: str = _setting("", "企业微信 CorpID (the receive id of callback messages)")
    wecom_token: str = _setting("", "企业微信 callback Token")
    wecom_aes_key: str = _setting("", "企业微信 callback EncodingAESKey (43 characters)")
    dingtalk_app_secret: str = _setting("", "钉钉 robot AppSecret (signs each callback)")
    feishu_app_id: str = _setting("", "飞书 App ID")
    feishu_app_secret: str = _setting("", "飞书 App Secret")
    feishu_verification_token: str = _setting("", "飞书 event subscription Verification Token")
    feishu_encrypt_key: str = _setting("", "飞书 event subscription Encrypt Key (optional)")
    feishu_api_base: str = _setting("https://open.feishu.cn", "飞书 open API base URL")
    max_body_bytes: int = _setting(
        1_048_576, "largest request body in bytes (JSON routes); larger bodies get 413"
    )
    head_timeout: float = _setting(10.0, "seconds a client has to send a request's headers")
    body_timeout: float = _setting(30.0, "seconds a client has to send a request's body")
    max_connections: int = _setting(
        512, "open connections at once (kept below the open-file limit); more get 503"
    )
    max_in_flight: int = _setting(
        8, "answer requests worked on at once (the thread pool is this + 8); more wait, then 503"
    )
    workers: int = _setting(
        1, "rag serve worker processes (each loads the index and model; 1 inference thread each)"
    )
    queue_wait: float = _setting(
        0.25,
        "seconds an answer request may wait for a free slot; a longer queue gets 503 at once",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by ``RAG_*`` variables, converted to each field's type."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(env_name(f.name))
            if raw is None:
                continue
            kind = type(f.default)
            try:
                values[f.name] = _flag(raw) if kind is bool else kind(raw)
            except ValueError as e:
                raise BadSetting(
                    f"{env_name(f.name)}={raw!r} is not a valid {kind.__name__}"
                ) from e
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed; None values are ignored (handy for CLI options)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _flag(raw: str) -> bool:
    """A boolean variable: ``bool("0")`` would be True, so spell the accepted words out.

    >>> _flag("1"), _flag("Yes"), _flag("false"), _flag("")
    (True, True, False, False)
    """
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def env_name(field_name: str) -> str:
    return "RAG_" + field_name.upper()


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting."""
    return [(env_name(f.name), str(f.default), f.metadata["help"]) for f in fields(Settings)]
