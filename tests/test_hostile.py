"""A corpus of hostile inputs against every route and bot: never a 5xx, never a traceback.

Each case expects a 4xx with the error shape ``{"error": …, "detail": …}``, or a 2xx whose body
is what the route documents (an answer, passages, a document, a page, a bot reply). Questions
with no searchable word (谁？, 请问一下, an emoji…) must get a helpful answer: 200, found false,
and a text asking for a fuller question — not the not-found text 未在已收录的政策文件中找到相关规定.

Bots are configured with test secrets and requests are signed as each vendor signs them, so the
hostile values reach the parsers behind the signature checks. Every signed request gets its own
timestamp and message id: bots may refuse replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi.testclient import TestClient

from rag.keys import KeyStore
from rag.server import create_app

GOOD = "谁负责医保跨省结算？"
NOT_FOUND = "未在已收录"
ASK_KEYS = {
    "question",
    "answer",
    "found",
    "intent",
    "citations",
    "latency_ms",
    "mode",
    "short_answer",
}
DENIED = (401, 403)

# 企业微信's published sample configuration; the other secrets are made up for the tests.
WECOM = {
    "token": "QDG6eK",
    "key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp": "wx5823bf96d3bd56c7",
}
DING_SECRET = "ding-hostile-secret"
FEISHU_TOKEN = "feishu-hostile-token"
FEISHU_KEY = "feishu hostile encrypt key"
BOTS = {
    "wecom_token": WECOM["token"],
    "wecom_aes_key": WECOM["key"],
    "wecom_corp_id": WECOM["corp"],
    "dingtalk_app_secret": DING_SECRET,
    "feishu_app_id": "cli_hostile",
    "feishu_app_secret": "feishu-hostile-secret",
    "feishu_verification_token": FEISHU_TOKEN,
    "feishu_api_base": "http://127.0.0.1:9",  # never the network: replies fail fast, locally
}
_serial = itertools.count(1)


# ---------------------------------------------------------------- signing, as the vendors do


def _unique() -> int:
    return next(_serial)


def wecom_key() -> bytes:
    return base64.b64decode(WECOM["key"] + "=")


def wecom_encrypt(message: bytes, corp: str = WECOM["corp"]) -> str:
    """WXBizMsgCrypt: 16 random bytes + length + message + CorpID, PKCS#7 to 32, AES-256-CBC."""
    plain = b"0123456789abcdef" + struct.pack(">I", len(message)) + message + corp.encode()
    pad = 32 - len(plain) % 32
    key = wecom_key()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain + bytes([pad]) * pad) + enc.finalize()).decode()


def wecom_decrypt(encrypted: str) -> str:
    key = wecom_key()
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode()


def wecom_signature(timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted([WECOM["token"], timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()


def now() -> str:
    return str(int(time.time()))


def wecom_get(
    echostr: str = "",
    *,
    timestamp: str | None = None,
    nonce: str = "42",
    signature: str | None = None,
) -> Callable[[], dict]:
    """URL verification, signed over ``echostr`` unless a signature is given."""

    def build() -> dict:
        ts = timestamp if timestamp is not None else now()
        sig = signature if signature is not None else wecom_signature(ts, nonce, echostr)
        return {
            "params": {"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}
        }

    return build


def wecom_message(content: str, msg_type: str = "text") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{WECOM['corp']}]]></ToUserName><FromUserName><![CDATA["
        f"zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA["
        f"{msg_type}]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{{id}}</MsgId>"
        f"<AgentID>1000002</AgentID></xml>"
    ).encode()


def wecom_post(
    inner: bytes | None = None, *, body: bytes | None = None, timestamp: str | None = None
) -> Callable[[], dict]:
    """An encrypted, signed message (``inner`` is the decrypted XML, with ``{id}`` replaced by a
    fresh MsgId), or a raw ``body`` sent as is with a made-up signature."""

    def build() -> dict:
        ts, nonce = timestamp if timestamp is not None else now(), "1372623149"
        if body is not None:
            content, sig = body, "0" * 40
        else:
            encrypted = wecom_encrypt(inner.replace(b"{id}", str(_unique()).encode()))
            sig = wecom_signature(ts, nonce, encrypted)
            content = (
                f"<xml><ToUserName><![CDATA[{WECOM['corp']}]]></ToUserName><Encrypt>"
                f"<![CDATA[{encrypted}]]></Encrypt></xml>"
            ).encode()
        return {
            "params": {"msg_signature": sig, "timestamp": ts, "nonce": nonce},
            "content": content,
            "headers": {"Content-Type": "text/xml"},
        }

    return build


def ding_message(content: Any = GOOD, **extra: Any) -> dict:
    return {
        "msgtype": "text",
        "text": {"content": content},
        "msgId": "{id}",
        "conversationType": "1",
        "senderNick": "张三",
        "conversationId": "cid",
        **extra,
    }


def ding(
    payload: Any = None,
    *,
    raw: bytes | None = None,
    timestamp: str | None = None,
    sign: str | bytes | None = None,
) -> Callable[[], dict]:
    """A 钉钉 callback signed with the test AppSecret and a fresh, unique timestamp."""

    def build() -> dict:
        n = _unique()
        ts = timestamp if timestamp is not None else str(int(time.time() * 1000) - n)
        # sign = base64(HMAC-SHA256(key=AppSecret, message=timestamp + "\n" + AppSecret))
        mac = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256)
        sig = sign if sign is not None else base64.b64encode(mac.digest()).decode()
        content = raw if raw is not None else _with_id(payload, n)
        return {
            "content": content,
            "headers": {"timestamp": ts, "sign": sig, "Content-Type": "application/json"},
        }

    return build


def _with_id(payload: Any, n: int) -> bytes:
    """JSON with ``{id}`` made unique; \\u escapes, so a lone surrogate can be sent too."""
    return json.dumps(payload).replace("{id}", f"m{n}").encode()


def feishu_event(text: Any = GOOD, *, content: Any = None, **message: Any) -> dict:
    """A 飞书 schema 2.0 message event (``{id}`` becomes a fresh event id)."""
    body = json.dumps({"text": text}, ensure_ascii=False) if content is None else content
    return {
        "schema": "2.0",
        "header": {
            "event_id": "{id}",
            "token": FEISHU_TOKEN,
            "event_type": "im.message.receive_v1",
            "create_time": "1700000000000",
        },
        "event": {
            "message": {
                "message_id": "om_{id}",
                "chat_type": "p2p",
                "message_type": "text",
                "content": body,
                **message,
            }
        },
    }


def feishu(payload: Any = None, *, raw: bytes | None = None) -> Callable[[], dict]:
    """A plain (unencrypted) 飞书 callback; the app under test has no Encrypt Key."""

    def build() -> dict:
        content = raw if raw is not None else _with_id(payload, _unique())
        return {"content": content, "headers": {"Content-Type": "application/json"}}

    return build


def lark_signed(timestamp: str, signature: str | None = None) -> Callable[[], dict]:
    """An encrypted 飞书 callback with X-Lark headers (for the app that has an Encrypt Key)."""

    def build() -> dict:
        raw = json.dumps({"encrypt": base64.b64encode(b"x" * 48).decode()}).encode()
        nonce = "nonce"
        sig = signature
        if sig is None:
            sig = hashlib.sha256((timestamp + nonce + FEISHU_KEY).encode() + raw).hexdigest()
        return {
            "content": raw,
            "headers": {
                "X-Lark-Request-Timestamp": timestamp,
                "X-Lark-Request-Nonce": nonce,
                "X-Lark-Signature": sig,
                "Content-Type": "application/json",
            },
        }

    return build


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """One hostile request. ``request`` is keyword arguments for ``TestClient.request``, or a
    function of the fixtures' context returning them (signed at request time).

    ``expect``: "any" — a 4xx, or a 2xx in the documented shape; "reject" — a 4xx;
    "denied" — 401 or 403; "helpful" — 200 with found false and no not-found text;
    "helpful-or-reject" — "helpful", or a 400.
    """

    id: str
    method: str
    path: str
    request: dict | Callable[..., dict] = field(default_factory=dict)
    app: str = "open"  # open (no keys, bots configured) | keyed (an API key; 飞书 Encrypt Key)
    expect: str = "any"

    @property
    def route(self) -> str:
        return self.path.split("?")[0]

    @property
    def page(self) -> bool:
        """An HTML page (not API): it may answer an error with an HTML page, or redirect."""
        return self.route in ("/", "/login") or self.route.startswith("/docs/")


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def raw_json(body: bytes) -> dict:
    return {"content": body, "headers": {"Content-Type": "application/json"}}


XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NO_WORD = {  # questions with no searchable word: each must get a helpful answer
    "who": "谁？",
    "please": "请问一下",
    "question-mark": "？",
    "de": "的",
    "emoji": "😀",
    "control-char": "\x07",
}
INVISIBLE = {  # nothing visible at all: a helpful answer, or a 400 saying the question is empty
    "nul": "\x00",
    "rlo-only": "\u202e",
    "bom-only": "\ufeff",
    "zero-width-only": "\u200b" * 3,
}
HOSTILE_QUESTIONS = {
    "nul-inside": "谁负责\x00医保跨省结算？",
    "rlo-inside": "\u202e谁负责医保跨省结算？",
    "bom-prefix": "\ufeff谁负责医保跨省结算？",
    "zero-width-inside": "谁\u200b负\u200b责医保跨省结算",
    "over-limit-501": "问" * 501,
    "huge-100k": "问" * 100_000,
    "many-lines": "\n".join(["谁负责医保？"] * 80),
    "html": "<script>alert(1)</script>谁负责医保",
    "sql": "' OR 1=1 --",
    "mixed-scripts": "مرحبا 谁负责 привет",
    "combining-marks": "e\u0301" * 200,
    "private-use": "\ue000" * 10,
    "only-punctuation": "!!!???,,,。。",
    "c1-controls": "\x85\x9b谁负责医保",
}


def ask_body(question: Any) -> dict:
    return {"question": question}


def chat_body(question: Any, stream: bool = False) -> dict:
    return {
        "model": "policyqa",
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
    }


def question_cases(questions: dict[str, str], expect: str) -> list[Case]:
    """Each question through every route that answers questions. A bot may also stay silent
    on a message with nothing visible in it, as it does on a blank one."""
    bots = "any" if expect == "helpful-or-reject" else expect
    out = []
    for name, q in questions.items():
        out += [
            Case(f"ask-{name}", "POST", "/api/ask", {"json": ask_body(q)}, expect=expect),
            Case(f"stream-{name}", "POST", "/api/ask/stream", {"json": ask_body(q)}, expect=expect),
            Case(
                f"chat-{name}",
                "POST",
                "/v1/chat/completions",
                {"json": chat_body(q)},
                expect=expect,
            ),
            Case(
                f"chat-stream-{name}",
                "POST",
                "/v1/chat/completions",
                {"json": chat_body(q, stream=True)},
                expect=expect,
            ),
            Case(
                f"dingtalk-{name}",
                "POST",
                "/integrations/dingtalk",
                ding(ding_message(q)),
                expect=bots,
            ),
            Case(
                f"wecom-{name}",
                "POST",
                "/integrations/wecom",
                wecom_post(wecom_message(q)),
                expect="any" if XML_INVALID.search(q) else bots,
            ),  # XML cannot carry it
            # passages: for a question with no word an empty list is fine (q[:5000]: the URL
            # stays under the HTTP client's 64 KiB limit)
            Case(f"search-{name}", "GET", "/api/search", {"params": {"q": q[:5000]}}),
        ]
    return out


RAW_BODIES = {  # encodings, sizes and nesting, sent as the body of every JSON route
    "empty": b"",
    "not-json": b"hello",
    "truncated": b'{"question": ',
    "invalid-utf8": b'{"question": "\xff\xfe\xfd"}',
    "overlong-utf8": b'{"question": "\xc0\xaf\xe0\x80\xaf"}',
    "cesu-surrogate-bytes": b'{"question": "\xed\xa0\x80"}',
    "lone-surrogate-escape": b'{"question": "\\ud800\\u8c01\\u8d1f\\u8d23"}',
    "utf16-le-bom": json.dumps({"question": GOOD}, ensure_ascii=False).encode("utf-16"),
    "utf16-be": json.dumps({"question": GOOD}, ensure_ascii=False).encode("utf-16-be"),
    "utf32": json.dumps({"question": GOOD}, ensure_ascii=False).encode("utf-32"),
    "utf8-bom": b"\xef\xbb\xbf" + json.dumps({"question": GOOD}).encode(),
    "gb18030": json.dumps({"question": GOOD}, ensure_ascii=False).encode("gb18030"),
    "deep-array-1000": b"[" * 1000 + b"]" * 1000,
    "deep-object-1000": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "deep-array-100k": b"[" * 100_000 + b"]" * 100_000,
    "array": b"[]",
    "string": b'"' + GOOD.encode() + b'"',
    "null": b"null",
    "nan": b"NaN",
    "int-5000-digits": b"9" * 5000,
    "duplicate-keys": b'{"question": 1, "question": "' + GOOD.encode() + b'"}',
    "list-10k": json.dumps(list(range(10_000))).encode(),
}
JSON_ROUTES = {"ask": "/api/ask", "stream": "/api/ask/stream", "chat": "/v1/chat/completions"}


def raw_body_cases() -> list[Case]:
    out = []
    for name, body in RAW_BODIES.items():
        for route, path in JSON_ROUTES.items():
            out.append(Case(f"{route}-body-{name}", "POST", path, raw_json(body)))
        out.append(Case(f"dingtalk-body-{name}", "POST", "/integrations/dingtalk", ding(raw=body)))
        out.append(Case(f"feishu-body-{name}", "POST", "/integrations/feishu", feishu(raw=body)))
    return out


FIELDS = {  # type confusion and hostile numbers in /api/ask's fields (JSON text after the colon)
    "question-number": '{"question": 42}',
    "question-null": '{"question": null}',
    "question-list": '{"question": ["谁负责"]}',
    "question-object": '{"question": {}}',
    "question-bool": '{"question": true}',
    "question-missing": '{"top_k": 3}',
    "top_k-string": '{"question": "Q", "top_k": "5"}',
    "top_k-superscript": '{"question": "Q", "top_k": "²"}',
    "top_k-negative": '{"question": "Q", "top_k": -1}',
    "top_k-zero": '{"question": "Q", "top_k": 0}',
    "top_k-huge": '{"question": "Q", "top_k": 1000000000000000000000000000000}',
    "top_k-5000-digits": '{"question": "Q", "top_k": ' + "9" * 5000 + "}",
    "top_k-1e309": '{"question": "Q", "top_k": 1e309}',
    "top_k-nan": '{"question": "Q", "top_k": NaN}',
    "top_k-infinity": '{"question": "Q", "top_k": -Infinity}',
    "top_k-fraction": '{"question": "Q", "top_k": 1.5}',
    "top_k-integral-float": '{"question": "Q", "top_k": 1.0}',
    "top_k-null": '{"question": "Q", "top_k": null}',
    "doc_ids-string": '{"question": "Q", "doc_ids": "003"}',
    "doc_ids-numbers": '{"question": "Q", "doc_ids": [1, 2]}',
    "doc_ids-nulls": '{"question": "Q", "doc_ids": [null]}',
    "doc_ids-10k": '{"question": "Q", "doc_ids": [' + ",".join(['"003"'] * 10_000) + "]}",
    "doc_ids-empty-string": '{"question": "Q", "doc_ids": [""]}',
    "doc_ids-traversal": '{"question": "Q", "doc_ids": ["../../etc/passwd"]}',
    "doc_ids-nul": '{"question": "Q", "doc_ids": ["\\u0000"]}',
    "doc_ids-100k-id": '{"question": "Q", "doc_ids": ["' + "0" * 100_000 + '"]}',
    "doc_ids-nested": '{"question": "Q", "doc_ids": [[["003"]]]}',
    "doc_ids-empty-list": '{"question": "Q", "doc_ids": []}',
    "extra-field": '{"question": "Q", "admin": true}',
}


CONTENT_TYPES = {  # a JSON body under other names, and other bodies under the JSON name
    "text-plain": ({"Content-Type": "text/plain"}, None),
    "missing": ({}, None),
    "form": (FORM, b"question=" + GOOD.encode()),
    "multipart": ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
    "json-latin1-charset": ({"Content-Type": "application/json; charset=latin-1"}, None),
    "json-utf16-charset": ({"Content-Type": "application/json; charset=utf-16"}, None),
    "xml": ({"Content-Type": "application/xml"}, b"<question>x</question>"),
}


def content_type_cases() -> list[Case]:
    good = json.dumps({"question": GOOD}, ensure_ascii=False).encode()
    return [
        Case(
            f"{route}-content-type-{name}",
            "POST",
            path,
            {"content": body or good, "headers": headers},
        )
        for name, (headers, body) in CONTENT_TYPES.items()
        for route, path in JSON_ROUTES.items()
        if route != "chat"
    ]


def field_cases() -> list[Case]:
    out = []
    for name, text in FIELDS.items():
        body = text.replace('"Q"', json.dumps(GOOD, ensure_ascii=False)).encode()
        out.append(Case(f"ask-{name}", "POST", "/api/ask", raw_json(body)))
        out.append(Case(f"stream-{name}", "POST", "/api/ask/stream", raw_json(body)))
    return out


def msgs(*messages: Any, **extra: Any) -> dict:
    return {"json": {"model": "policyqa", "messages": list(messages), **extra}}


def cases(
    prefix: str,
    method: str,
    path: str,
    requests: dict[str, Any],
    app: str = "open",
    expect: str = "any",
) -> list[Case]:
    """One case per ``name: request`` entry, all sent to one route."""
    return [Case(f"{prefix}-{n}", method, path, r, app, expect) for n, r in requests.items()]


USER = {"role": "user", "content": GOOD}
IMAGE = {"type": "image_url", "image_url": {"url": "http://x/y.png"}}
CHAT_REQUESTS = {  # sent to /v1/chat/completions
    "messages-empty": msgs(),
    "messages-null": {"json": {"messages": None}},
    "messages-string": {"json": {"messages": GOOD}},
    "messages-numbers": msgs(1, 2),
    "messages-nulls": msgs(None),
    "no-content": msgs({"role": "user"}),
    "system-only": msgs({"role": "system", "content": GOOD}),
    "unknown-role": msgs({"role": "hacker", "content": GOOD}),
    "content-number": msgs({"role": "user", "content": 42}),
    "image-only": msgs({"role": "user", "content": [IMAGE]}),
    "text-part-null": msgs({"role": "user", "content": [{"type": "text", "text": None}]}),
    "text-part-number": msgs({"role": "user", "content": [{"type": "text", "text": 42}]}),
    "10k-parts": msgs({"role": "user", "content": [{"type": "text", "text": "医"}] * 10_000}),
    "10k-messages": msgs(*[USER] * 10_000),
    "model-number": msgs(USER, model=42),
    "model-100k": msgs(USER, model="m" * 100_000),
    "stream-string": msgs(USER, stream="yes"),
    "stream-null": msgs(USER, stream=None),
    "max_tokens-1e309": raw_json(
        b'{"messages": [{"role": "user", "content": "' + GOOD.encode() + b'"}], '
        b'"max_tokens": 1e309, "temperature": NaN}'
    ),
    "lone-surrogate": raw_json(
        b'{"messages": [{"role": "user", "content": "\\ud800\\u8c01\\u8d1f\\u8d23"}]}'
    ),
    "deep-content": raw_json(
        b'{"messages": [{"role": "user", "content": ' + b"[" * 1000 + b"]" * 1000 + b"}]}"
    ),
}
CHAT = cases("chat", "POST", "/v1/chat/completions", CHAT_REQUESTS)

SEARCH = [
    Case("search-q-missing", "GET", "/api/search"),
    Case("search-q-empty", "GET", "/api/search", {"params": {"q": ""}}),
    Case("search-q-blank", "GET", "/api/search", {"params": {"q": "  \t "}}),
    Case("search-q-5000", "GET", "/api/search", {"params": {"q": "医" * 5_000}}),
    Case("search-q-invalid-utf8", "GET", "/api/search?q=%ff%fe%fd"),
    Case("search-q-overlong-utf8", "GET", "/api/search?q=%c0%af%e0%80%af"),
    Case("search-q-cesu-surrogate", "GET", "/api/search?q=%ed%a0%80%e5%8c%bb"),
    Case("search-q-repeated", "GET", "/api/search?q=%E5%8C%BB%E4%BF%9D&q=x&q="),
    *[
        Case(f"search-k-{name}", "GET", "/api/search", {"params": {"q": "医保", "k": k}})
        for name, k in {
            "superscript": "²",
            "negative": "-1",
            "zero": "0",
            "51": "51",
            "1e309": "1e309",
            "nan": "NaN",
            "5000-digits": "9" * 5000,
            "fraction": "1.5",
            "hex": "0x10",
            "empty": "",
            "fullwidth": "５",
        }.items()
    ],
]

DOC_IDS = {
    "ambiguous-prefix": "0",
    "nul": "%00",
    "traversal": "..%2f..%2fetc%2fpasswd",
    "invalid-utf8": "%ff%fe",
    "10k": "x" * 10_000,
    "rlo": "%E2%80%AE003",
    "space": "003%20",
    "star": "*",
    "dots": "%2e%2e",
    "5000-digits": "0" * 5000,
    "fullwidth": "００３",
}
DOCS = [Case(f"docs-json-{name}", "GET", f"/api/docs/{doc}") for name, doc in DOC_IDS.items()]
VIEWER = [
    *[Case(f"viewer-id-{name}", "GET", f"/docs/{doc}") for name, doc in DOC_IDS.items()],
    *[
        Case(f"viewer-{name}", "GET", "/docs/003", {"params": params})
        for name, params in {
            "start-superscript": {"start": "²"},
            "start-5000-digits": {"start": "9" * 5000},
            "start-negative": {"start": "-1", "end": "5"},
            "start-1e309": {"start": "1e309"},
            "start-nan": {"start": "NaN"},
            "start-word": {"start": "abc"},
            "start-huge": {"start": str(10**30), "end": str(10**31)},
            "end-before-start": {"start": "100", "end": "5"},
            "end-only": {"end": "50"},
            "both-negative": {"start": "-5", "end": "-1"},
            "start-empty": {"start": ""},
            "end-5000-digits": {"start": "1", "end": "9" * 5000},
        }.items()
    ],
]

PAGE = [
    Case("models-junk-query", "GET", "/v1/models", {"params": {"x": "\u202e" * 100}}),
    Case("models-post", "POST", "/v1/models", {"json": {}}),
    Case("models-unknown-id", "GET", "/v1/models/policyqa"),
    Case("chat-get", "GET", "/v1/chat/completions"),
    Case("login-next-huge", "GET", "/login", {"params": {"next": "/" + "a" * 60_000}}),
    Case("login-next-javascript", "GET", "/login", {"params": {"next": "javascript:alert(1)"}}),
    Case("login-next-nul", "GET", "/login", {"params": {"next": "/\x00"}}),
    Case(
        "login-post-invalid-utf8",
        "POST",
        "/login",
        {"content": b"password=\xff\xfe&next=/", "headers": FORM},
    ),
    Case("login-post-1mb", "POST", "/login", {"data": {"password": "p" * 1_000_000}}),
    Case(
        "login-post-10k-fields",
        "POST",
        "/login",
        {"content": "&".join(f"f{i}=x" for i in range(10_000)).encode(), "headers": FORM},
    ),
    Case("login-post-nul-password", "POST", "/login", {"data": {"password": "\x00"}}),
    Case("login-post-json", "POST", "/login", {"json": {"password": ["x"]}}),
    Case("chat-page-q-huge", "GET", "/", {"params": {"q": "问" * 7_000}}),
    Case("chat-page-q-bidi", "GET", "/", {"params": {"q": "\u202e\u0000\ufeff"}}),
]


def cookie(value: str) -> dict:
    return {"Cookie": f"pqa_session={value}"}


SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
ASK = {"json": {"question": GOOD}}


def page_ask(headers: dict) -> dict:
    """A question to the chat page's route, looking as if the page sent it."""
    return {**ASK, "headers": {**SAME_ORIGIN, **headers}}


def authorized(value: str | bytes) -> dict:
    return {**ASK, "headers": {"Authorization": value}}


def with_session(request: dict) -> Callable[[dict], dict]:
    """``request`` carrying a real chat-page session, as the page would send it."""
    return lambda ctx: {**request, "headers": {**SAME_ORIGIN, **ctx["session"]}}


LATIN1_COOKIE = "pqa_session=\xe9\xff.\xfe".encode("latin-1")
FORGED_PAGE = {  # /api/ask/stream is the page's route: a forged page context opens nothing
    "forged-sec-fetch-site": page_ask({}),
    "forged-origin": {**ASK, "headers": {"Origin": "http://testserver"}},
    "forged-cookie": page_ask(cookie("9999999999." + "ab" * 32)),
    "cookie-5000-digits": page_ask(cookie("9" * 5000 + ".x")),
    "cookie-superscript": page_ask(cookie("²." + "ab" * 32)),
    "cookie-100k": page_ask(cookie("1" * 100_000)),
    "cookie-latin1": page_ask({"Cookie": LATIN1_COOKIE}),
}
BAD_AUTHORIZATION = {  # /api/ask with keys set: nothing but a valid Bearer key opens it
    "bearer-100k": authorized("Bearer " + "k" * 100_000),
    "bearer-nul": authorized("Bearer \x00"),
    "bearer-latin1": authorized("Bearer pqa_\xe9\xff".encode("latin-1")),
    "basic-auth": authorized("Basic dXNlcjpwYXNz"),
    "bearer-empty": authorized("Bearer"),
    "key-as-cookie": lambda ctx: {**ASK, "headers": cookie(ctx["key"])},
}
PAGE_SESSION_ELSEWHERE = {  # a page session opens the page's own route only
    "search": ("GET", "/api/search", {"params": {"q": "医保"}}),
    "docs-json": ("GET", "/api/docs", {}),
    "ask": ("POST", "/api/ask", ASK),
    "models": ("GET", "/v1/models", {}),
    "chat": ("POST", "/v1/chat/completions", msgs(USER)),
}
PAGE_COOKIES = {"5000-digits": cookie("9" * 5000 + ".x"), "superscript": cookie("²³." + "0" * 64)}
FORWARDED = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", **SAME_ORIGIN}
HEADERS = [  # against a server with an API key: forged headers and cookies unlock nothing
    *cases("stream", "POST", "/api/ask/stream", FORGED_PAGE, "keyed", "denied"),
    *cases("ask", "POST", "/api/ask", BAD_AUTHORIZATION, "keyed", "denied"),
    *[
        Case(f"{name}-with-page-session", method, path, with_session(request), "keyed", "denied")
        for name, (method, path, request) in PAGE_SESSION_ELSEWHERE.items()
    ],
    *[
        Case(f"chat-page-cookie-{name}", "GET", "/", {"headers": headers}, "keyed")
        for name, headers in PAGE_COOKIES.items()
    ],
    Case("viewer-cookie-100k", "GET", "/docs/003", {"headers": cookie("7" * 100_000)}, "keyed"),
    Case(
        "search-forged-forwarded",
        "GET",
        "/api/search",
        {"params": {"q": "医保"}, "headers": FORWARDED},
        "keyed",
        "denied",
    ),
]

BAD_TIMESTAMPS = {  # every bot checks its timestamp before anything else
    "superscript": "²",
    "5000-digits": "9" * 5000,
    "400-digits": "9" * 400,
    "negative": "-1",
    "empty": "",
}
INVALID_UTF8_MESSAGE = b"<xml><MsgType>text</MsgType><Content>\xff\xfe</Content></xml>"
WECOM_PATH = "/integrations/wecom"
UTF16_XML = '<?xml version="1.0" encoding="utf-16"?><xml><Encrypt>x</Encrypt></xml>'
WECOM_GET = {
    "params-missing": {},
    **{
        f"timestamp-{name}": wecom_get("abc", timestamp=ts)
        for name, ts in {
            **BAD_TIMESTAMPS,
            "exponent": "1e9",
            "padded": " 1",
            "fullwidth": "１７００００００００",
        }.items()
    },
    "nonce-nul": wecom_get("abc", nonce="\x00"),
    "signature-10k": wecom_get("abc", signature="f" * 10_000),
    "signature-unicode": wecom_get("abc", signature="签名\u202e"),
    "echostr-not-base64": wecom_get("不是base64!"),
    "echostr-empty": wecom_get(""),
    "echostr-odd-length": wecom_get(base64.b64encode(b"x" * 17).decode()),
    "echostr-random-blocks": wecom_get(base64.b64encode(bytes(range(64))).decode()),
    "echostr-64k": wecom_get(base64.b64encode(b"\x00" * 48_000).decode()),
    "echostr-invalid-utf8": wecom_get(wecom_encrypt(b"\xff\xfe\xfd")),
    "echostr-other-corp": wecom_get(wecom_encrypt(b"echo", corp="wwSomeoneElse")),
}
WECOM_POST = {
    "params-missing": {"content": b"<xml/>"},
    **{
        f"timestamp-{name}": wecom_post(wecom_message(GOOD), timestamp=ts)
        for name, ts in BAD_TIMESTAMPS.items()
    },
    **{
        f"body-{name}": wecom_post(body=body)
        for name, body in {
            "empty": b"",
            "not-xml": b"hello",
            "invalid-utf8": b"<xml>\xff\xfe</xml>",
            "utf16": UTF16_XML.encode("utf-16"),
            "deep-1000": b"<a>" * 1000 + b"</a>" * 1000,
            "deep-100k": b"<a>" * 100_000 + b"</a>" * 100_000,
            "billion-laughs": (
                b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
            ),
            "external-entity": (
                b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<xml><Encrypt>&e;</Encrypt></xml>"
            ),
            "no-encrypt": b"<xml><ToUserName>x</ToUserName></xml>",
            "encrypt-1mb": b"<xml><Encrypt>" + b"A" * 1_000_000 + b"</Encrypt></xml>",
            "10k-elements": b"<xml>" + b"<Encrypt>x</Encrypt>" * 10_000 + b"</xml>",
        }.items()
    },
    **{
        f"inner-{name}": wecom_post(inner)
        for name, inner in {
            "not-xml": b"hello",
            "invalid-utf8": INVALID_UTF8_MESSAGE,
            "doctype": (
                b'<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>text</MsgType>'
                b"<Content>&a;</Content></xml>"
            ),
            "deep-1000": b"<xml>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</xml>",
            "content-100k": wecom_message("问" * 100_000),
            "no-msgtype": b"<xml><Content>" + GOOD.encode() + b"</Content></xml>",
            "event": wecom_message("", msg_type="event"),
            "empty": b"",
        }.items()
    },
}
WECOM_CASES = [
    *cases("wecom-get", "GET", WECOM_PATH, WECOM_GET),
    *cases("wecom-post", "POST", WECOM_PATH, WECOM_POST),
]

DING_REQUESTS = {
    **{
        f"timestamp-{name}": ding(ding_message(), timestamp=ts)
        for name, ts in {**BAD_TIMESTAMPS, "fullwidth": "１７００００００００００００"}.items()
    },
    "sign-10k": ding(ding_message(), sign="s" * 10_000),
    "sign-latin1": ding(ding_message(), sign="\xe9\xff".encode("latin-1")),
    "unsigned": {"json": ding_message()},
    **{
        name: ding(payload)
        for name, payload in {
            "content-number": ding_message(42),
            "content-null": ding_message(None),
            "content-list": ding_message([GOOD]),
            "content-object": ding_message({"a": 1}),
            "text-string": {**ding_message(), "text": GOOD},
            "text-missing": {"msgtype": "text"},
            "msgtype-list": {**ding_message(), "msgtype": ["text"]},
            "message-list": [ding_message()],
            "group-at-string": ding_message(conversationType="2", isInAtList="false"),
            "conversation-type-number": ding_message(conversationType=2),
            "content-100k": ding_message("问" * 100_000),
            "content-lone-surrogate": ding_message("\ud800谁负责医保"),
        }.items()
    },
}
DING_CASES = cases("dingtalk", "POST", "/integrations/dingtalk", DING_REQUESTS)

FEISHU_HEADER = feishu_event()["header"]
CHALLENGE = {"type": "url_verification", "token": FEISHU_TOKEN}
FEISHU_PAYLOADS = {
    "challenge-wrong-token": {"type": "url_verification", "token": "x", "challenge": "c"},
    "challenge-token-number": {"type": "url_verification", "token": 42, "challenge": "c"},
    "challenge-1mb": {**CHALLENGE, "challenge": "c" * 1_000_000},
    "challenge-object": {**CHALLENGE, "challenge": {"a": [1]}},
    "header-list": {**feishu_event(), "header": [1]},
    "event-string": {**feishu_event(), "event": "x"},
    "content-number": feishu_event(content=42),
    "content-not-json": feishu_event(content="{not json"),
    "content-list": feishu_event(content="[1, 2]"),
    "text-number": feishu_event(42),
    "mentions-number": feishu_event(chat_type="group", mentions=42),
    "mentions-strings": feishu_event(chat_type="group", mentions=["@_user_1"]),
    "mentions-key-object": feishu_event(chat_type="group", mentions=[{"key": {"a": 1}}]),
    "message-id-list": feishu_event(message_id=["om_1"]),
    "event-type-list": {**feishu_event(), "header": {**FEISHU_HEADER, "event_type": ["x"]}},
    "encrypt-without-key": {"encrypt": "abc"},
    "encrypt-number": {"encrypt": 42},
}
LARK_SIGNED = {  # against the keyed app, which has an Encrypt Key: signatures are checked
    **{f"timestamp-{name}": lark_signed(ts) for name, ts in BAD_TIMESTAMPS.items()},
    "signature-10k": lark_signed(now(), "f" * 10_000),
    "signed-garbage": lark_signed(now()),
}
FEISHU_REQUESTS = {name: feishu(payload) for name, payload in FEISHU_PAYLOADS.items()}
FEISHU_CASES = [
    *cases("feishu", "POST", "/integrations/feishu", FEISHU_REQUESTS),
    *cases("feishu-lark", "POST", "/integrations/feishu", LARK_SIGNED, "keyed"),
]

CASES = [
    *question_cases(NO_WORD, "helpful"),
    *question_cases(INVISIBLE, "helpful-or-reject"),
    *question_cases(HOSTILE_QUESTIONS, "any"),
    *raw_body_cases(),
    *field_cases(),
    *content_type_cases(),
    *CHAT,
    *SEARCH,
    *DOCS,
    *VIEWER,
    *PAGE,
    *HEADERS,
    *WECOM_CASES,
    *DING_CASES,
    *FEISHU_CASES,
]


# ---------------------------------------------------------------- what a response may be


def sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    events = []
    for block in text.split("\n\n"):
        name = re.search(r"^event: (.*)$", block, re.M)
        data = "\n".join(re.findall(r"^data: (.*)$", block, re.M))
        if data:
            events.append((name.group(1) if name else "message", data))
    return events


def check_answer(body: Any) -> None:
    assert isinstance(body, dict) and ASK_KEYS <= set(body), body
    assert isinstance(body["answer"], str) and body["answer"].strip()
    assert isinstance(body["found"], bool) and isinstance(body["citations"], list)


def answer_of(case: Case, r) -> tuple[str, bool | None]:
    """The answer text a 200 carries, and whether it says it found something (None: unsaid)."""
    path, ctype = case.route, r.headers.get("content-type", "")
    if path == "/api/ask":
        return r.json()["answer"], r.json()["found"]
    if path == "/api/ask/stream":
        events = sse(r.text)
        assert events and events[-1][0] == "answer", r.text[:300]
        final = json.loads(events[-1][1])
        deltas = "".join(json.loads(d)["text"] for name, d in events if name == "delta")
        assert deltas == final["answer"]
        return final["answer"], final["found"]
    if path == "/v1/chat/completions" and ctype.startswith("text/event-stream"):
        events = [d for _, d in sse(r.text)]
        assert events and events[-1] == "[DONE]", r.text[:300]
        chunks = [json.loads(d) for d in events[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        return text, chunks[-1].get("found")
    if path == "/v1/chat/completions":
        return r.json()["choices"][0]["message"]["content"], r.json().get("found")
    if path == "/integrations/dingtalk":
        assert r.json()["msgtype"] == "markdown", r.json()
        markdown = r.json()["markdown"]
        return markdown["text"], not markdown["title"].startswith("未找到")
    if path == "/integrations/wecom":
        assert r.content, "acknowledged without an answer"
        reply = ET.fromstring(wecom_decrypt(ET.fromstring(r.text).findtext("Encrypt")))
        return reply.findtext("Content"), None
    raise AssertionError(f"no answer expected from {path}")


ANSWERING = {("POST", "/api/ask"), ("POST", "/api/ask/stream"), ("POST", "/v1/chat/completions")}


def check_documented(case: Case, r) -> None:
    """A 2xx/3xx must be what the route documents."""
    path, ctype = case.route, r.headers.get("content-type", "")
    if 300 <= r.status_code < 400:
        assert case.page, r.status_code
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    elif (case.method, path) in ANSWERING:
        text, found = answer_of(case, r)
        assert isinstance(text, str) and text.strip() and found in (True, False)
        if path == "/api/ask":
            check_answer(r.json())
        elif path == "/api/ask/stream":
            check_answer(json.loads(sse(r.text)[-1][1]))
        elif ctype.startswith("application/json"):
            assert r.json()["object"] == "chat.completion"
    elif path == "/integrations/wecom" and case.method == "GET":
        assert ctype.startswith("text/plain"), ctype
    elif path == "/integrations/wecom":  # acknowledged (empty), or an encrypted reply
        assert not r.content or answer_of(case, r)[0].strip()
    elif path == "/api/search":
        hits = r.json()
        assert isinstance(hits, list) and all({"rank", "score"} <= set(h) for h in hits)
    elif path.startswith("/api/docs"):
        assert {"id", "title", "text", "clauses"} <= set(r.json())
    elif path == "/v1/models":
        assert r.json()["object"] == "list" and r.json()["data"]
    elif path == "/integrations/dingtalk":
        body = r.json()
        assert body["msgtype"] in ("empty", "markdown"), body
        if body["msgtype"] == "markdown":
            assert body["markdown"]["text"].strip()
    elif path == "/integrations/feishu":
        assert isinstance(r.json(), dict)
    else:  # the pages
        assert ctype.startswith("text/html"), ctype


def check(case: Case, r) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    assert "Traceback" not in r.text and 'File "/' not in r.text, r.text[:300]
    ctype = r.headers.get("content-type", "")
    if r.status_code >= 400:
        if ctype.startswith("application/json"):
            body = r.json()
            assert isinstance(body, dict) and {"error", "detail"} <= set(body), body
            assert isinstance(body["error"], str) and isinstance(body["detail"], str), body
        else:  # only a page may answer with an HTML page
            assert ctype.startswith("text/html") and case.page, (ctype, r.text[:300])
    if case.expect == "denied":
        assert r.status_code in DENIED, r.status_code
    elif case.expect == "reject":
        assert 400 <= r.status_code < 500, r.status_code
    elif case.expect == "helpful-or-reject" and r.status_code == 400:
        pass
    elif case.expect.startswith("helpful"):
        assert r.status_code == 200, f"{r.status_code}: {r.text[:300]}"
        check_documented(case, r)
        text, found = answer_of(case, r)
        assert NOT_FOUND not in text, text[:200]
        assert found in (False, None), text[:200]
    elif r.status_code < 400:
        check_documented(case, r)


# ---------------------------------------------------------------- running the table


@pytest.fixture(scope="module")
def clients(hashing_engine, tmp_path_factory):
    """open: no API key, bots configured (飞书 without Encrypt Key, so plain bodies are read);
    keyed: one API key, and 飞书 with an Encrypt Key (signed, encrypted events)."""
    base = hashing_engine.settings.with_(**BOTS)
    open_state, keyed_state = tmp_path_factory.mktemp("open"), tmp_path_factory.mktemp("keyed")
    _, key = KeyStore(keyed_state).create("hostile")
    apps = {
        "open": create_app(base.with_(state_dir=open_state), hashing_engine),
        "keyed": create_app(
            base.with_(state_dir=keyed_state, feishu_encrypt_key=FEISHU_KEY), hashing_engine
        ),
    }
    with (
        TestClient(apps["open"], raise_server_exceptions=False, follow_redirects=False) as o,
        TestClient(apps["keyed"], raise_server_exceptions=False, follow_redirects=False) as k,
    ):
        session = k.get("/").cookies.get("pqa_session", "")
        k.cookies.clear()
        yield {"open": o, "keyed": k, "ctx": {"session": cookie(session), "key": key}}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(clients, case: Case):
    client = clients[case.app]
    client.cookies.clear()
    request = case.request
    if callable(request):
        request = request(clients["ctx"]) if request.__code__.co_argcount else request()
    request = on_the_wire(request)
    if any(isinstance(v, bytes) for v in request.get("headers", {}).values()):
        check(case, raw_send(client.app, case.method, case.path, request))
    else:
        check(case, client.request(case.method, case.path, **request))


def on_the_wire(request: dict) -> dict:
    """Non-ASCII header values as a raw client sends them: bytes (Latin-1 where it fits)."""
    headers = {}
    for name, value in request.get("headers", {}).items():
        if isinstance(value, str) and not value.isascii():
            value = value.encode("latin-1" if max(value) <= "\xff" else "utf-8")
        headers[name] = value
    return {**request, "headers": headers} if headers else request


def raw_send(app, method: str, path: str, request: dict) -> httpx.Response:
    """Send header bytes unchanged, as uvicorn hands them to the app (TestClient re-encodes
    them as UTF-8, so a Latin-1 byte like ``²`` = 0xB2 would never arrive as sent)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, **request)

    return anyio.run(send)


def test_the_corpus_is_large_and_covers_every_route():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 200
    covered = {(c.method, c.path.split("?")[0]) for c in CASES}
    for route in [
        ("POST", "/api/ask"),
        ("POST", "/api/ask/stream"),
        ("GET", "/api/search"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/"),
        ("GET", "/integrations/wecom"),
        ("POST", "/integrations/wecom"),
        ("POST", "/integrations/dingtalk"),
        ("POST", "/integrations/feishu"),
    ]:
        assert route in covered, route
    for prefix in ("/api/docs/", "/docs/"):
        assert any(path.startswith(prefix) for _, path in covered), prefix


OFF_SITE = {  # login ?next= targets that would leave this server
    "double-slash": "//evil.example/",
    "backslash": "/\\evil.example/",
    "backslash-slash": "/\\/evil.example",
    "absolute": "https://evil.example/",
    "tab": "/\t/evil.example",
    "nul": "\x00/evil",
    "encoded": "/%2f%2fevil.example",
}


@pytest.mark.parametrize("target", OFF_SITE.values(), ids=OFF_SITE.keys())
def test_login_never_redirects_off_site(hashing_engine, tmp_path, target):
    """After a correct password the redirect stays on this site (browsers read ``/\\`` as
    ``//``)."""
    KeyStore(tmp_path).create("hostile")
    settings = hashing_engine.settings.with_(state_dir=tmp_path, page_password="口令")
    with TestClient(create_app(settings, hashing_engine), follow_redirects=False) as client:
        r = client.post("/login", data={"password": "口令", "next": target})
        assert r.status_code == 303
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
