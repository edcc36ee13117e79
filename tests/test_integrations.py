"""企业微信, 钉钉 and 飞书 bots with real cryptography, messages built as each vendor documents."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi.testclient import TestClient

from rag.integrations import dingtalk as dingtalk_module
from rag.integrations import feishu as feishu_module
from rag.integrations import wecom as wecom_module
from rag.integrations.common import MAX_BODY, SeenIds, utf8_size
from rag.integrations.dingtalk import sign as dingtalk_sign
from rag.integrations.feishu import decrypt as feishu_decrypt
from rag.integrations.feishu import signature as feishu_signature
from rag.integrations.wecom import WeComCrypto
from rag.replies import reply_text
from rag.server import create_app
from rag.types import Answer, Citation

# The vendors' published sample configuration and messages.
WECOM = {
    "token": "QDG6eK",
    "key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp": "wx5823bf96d3bd56c7",
}
WECOM_ECHO = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
WECOM_MSG = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "encrypt": "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
}
FEISHU_VECTOR = ("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "hello world")
DING_SECRET = "ding-app-secret-for-tests"
FEISHU = {
    "feishu_app_id": "cli_test",
    "feishu_app_secret": "feishu-secret",
    "feishu_verification_token": "verify-token",
}
WECOM_SETTINGS = {
    "wecom_token": WECOM["token"],
    "wecom_aes_key": WECOM["key"],
    "wecom_corp_id": WECOM["corp"],
}
BOTS = {  # all three configured, 飞书 with an Encrypt Key
    **WECOM_SETTINGS,
    **FEISHU,
    "dingtalk_app_secret": DING_SECRET,
    "feishu_encrypt_key": "feishu encrypt key",
}
PUBLIC = "https://policy.example.gov.cn"


class FakeOpenApi:
    """A local stand-in of the Feishu open API: issues a tenant token, records replies."""

    def __init__(self):
        self.calls: list[tuple[str, dict, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.calls.append((self.path, body, self.headers.get("Authorization")))
                if self.path.endswith("/tenant_access_token/internal"):
                    ok = body == {"app_id": "cli_test", "app_secret": "feishu-secret"}
                    reply = {
                        "code": 0 if ok else 10003,
                        "msg": "ok",
                        "tenant_access_token": "t-test",
                        "expire": 7200,
                    }
                else:
                    authorised = self.headers.get("Authorization") == "Bearer t-test"
                    reply = {"code": 0 if authorised else 99991663, "msg": "ok", "data": {}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def replies(self) -> list[tuple[str, str]]:
        return [
            (path.split("/")[-2], json.loads(body["content"])["text"])
            for path, body, _ in self.calls
            if path.endswith("/reply")
        ]


@pytest.fixture(scope="module")
def open_api():
    fake = FakeOpenApi()
    yield fake
    fake.server.shutdown()


def make_client(engine, **settings) -> TestClient:
    return TestClient(create_app(engine.settings.with_(public_url=PUBLIC, **settings), engine))


@pytest.fixture(scope="module")
def client(hashing_engine, open_api, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    with make_client(hashing_engine, state_dir=state, feishu_api_base=open_api.url, **BOTS) as c:
        yield c


# ---------------------------------------------------------------- 企业微信


def test_wecom_published_vectors():
    crypto = WeComCrypto(WECOM["token"], WECOM["key"], WECOM["corp"])
    e = WECOM_ECHO
    crypto.verify(e["msg_signature"], e["timestamp"], e["nonce"], e["echostr"])
    assert crypto.decrypt(e["echostr"]) == "1616140317555161061"
    m = WECOM_MSG
    crypto.verify(m["msg_signature"], m["timestamp"], m["nonce"], m["encrypt"])
    message = ET.fromstring(crypto.decrypt(m["encrypt"]))
    assert message.findtext("ToUserName") == WECOM["corp"]
    assert message.findtext("MsgType") == "text" and message.findtext("Content") == "hello"
    again = crypto.encrypt("<xml>往返</xml>")
    assert crypto.decrypt(again) == "<xml>往返</xml>"


def test_wecom_url_verification_with_the_published_request(hashing_engine, tmp_path):
    query = {k: v for k, v in WECOM_ECHO.items()}
    with make_client(
        hashing_engine, state_dir=tmp_path, max_clock_skew=10**10, **WECOM_SETTINGS
    ) as old_clock:
        r = old_clock.get("/integrations/wecom", params=query)
        assert r.status_code == 200 and r.text == "1616140317555161061"


def test_wecom_stale_timestamp_is_refused(client):
    r = client.get("/integrations/wecom", params=WECOM_ECHO)  # signed in 2014
    assert r.status_code == 401


def wecom_request(
    content: str,
    *,
    crypto=None,
    corp=WECOM["corp"],
    msg_type="text",
    tamper=None,
    signature=None,
    timestamp=None,
    msg_id=None,
):
    """(query, body) of a callback built as WeCom builds it."""
    crypto = crypto or WeComCrypto(WECOM["token"], WECOM["key"], corp)
    msg_id = msg_id or str(uuid.uuid4().int >> 64)
    inner = (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[zhangsan]]>"
        f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[{msg_type}]]>"
        f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>1000002</AgentID></xml>"
    )
    encrypted = crypto.encrypt(inner)
    timestamp = timestamp or str(int(time.time()))
    nonce = "1372623149"
    sig = signature or WeComCrypto(WECOM["token"], WECOM["key"], corp).signature(
        timestamp, nonce, encrypted
    )
    if tamper:
        encrypted = tamper(encrypted)
    body = (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]>"
        f"</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return {"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}, body.encode()


def wecom_send(client, request):
    query, body = request
    return client.post(
        "/integrations/wecom", params=query, content=body, headers={"Content-Type": "text/xml"}
    )


def wecom_post(client, content: str, **kwargs):
    return wecom_send(client, wecom_request(content, **kwargs))


def test_wecom_text_message_gets_an_encrypted_cited_reply(client):
    r = wecom_post(client, "谁负责医保跨省结算？")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    envelope = ET.fromstring(r.text)
    crypto = WeComCrypto(WECOM["token"], WECOM["key"], WECOM["corp"])
    crypto.verify(
        envelope.findtext("MsgSignature"),
        envelope.findtext("TimeStamp"),
        envelope.findtext("Nonce"),
        envelope.findtext("Encrypt"),
    )
    reply = ET.fromstring(crypto.decrypt(envelope.findtext("Encrypt")))
    assert reply.findtext("ToUserName") == "zhangsan"
    assert reply.findtext("FromUserName") == WECOM["corp"]
    content = reply.findtext("Content")
    assert content.startswith("区医保局。依据：") and "\n\n依据：\n[1] 《" in content
    assert f"{PUBLIC}/docs/003_" in content and utf8_size(content) <= 2048


def flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[40] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"tamper": flip}, 403),  # ciphertext changed after signing
        ({"signature": "0" * 40}, 403),
        ({"crypto": WeComCrypto(WECOM["token"], "a" * 43, WECOM["corp"])}, 403),  # wrong key
        ({"corp": "wwSomeoneElse"}, 403),  # receive id is not our CorpID
        ({"timestamp": "1409659813"}, 401),
    ],
    ids=["tampered", "bad-signature", "wrong-key", "wrong-receive-id", "stale"],
)
def test_wecom_rejections_are_never_answered(client, kwargs, status):
    r = wecom_post(client, "谁负责医保跨省结算？", **kwargs)
    assert r.status_code == status
    assert "区医保局" not in r.text


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<xml><NoEncrypt/></xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
    ],
)
def test_wecom_malformed_bodies(client, body):
    query = {"msg_signature": "x", "timestamp": str(int(time.time())), "nonce": "1"}
    assert client.post("/integrations/wecom", params=query, content=body).status_code == 400


def test_wecom_events_are_acknowledged_not_answered(client):
    r = wecom_post(client, "", msg_type="event")
    assert r.status_code == 200 and r.text == ""


# ---------------------------------------------------------------- 钉钉


def ding_timestamp() -> str:
    """Now in milliseconds, never the same twice: DingTalk accepts each (timestamp, sign) once."""
    ding_timestamp.last = max(int(time.time() * 1000), getattr(ding_timestamp, "last", 0) + 1)
    return str(ding_timestamp.last)


def ding_post(client, payload, *, timestamp=None, secret=DING_SECRET, raw=None):
    timestamp = timestamp or ding_timestamp()
    headers = {
        "timestamp": timestamp,
        "sign": dingtalk_sign(timestamp, secret),
        "Content-Type": "application/json",
    }
    content = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    return client.post("/integrations/dingtalk", content=content, headers=headers)


def ding_message(text: str, group: bool = False, at: bool = True) -> dict:
    return {
        "msgtype": "text",
        "text": {"content": text},
        "msgId": f"msg-{uuid.uuid4()}",
        "conversationType": "2" if group else "1",
        "isInAtList": at,
        "senderNick": "张三",
        "conversationId": "cid1",
    }


def test_dingtalk_sign_is_the_documented_hmac():
    expected = base64.b64encode(
        hmac.new(b"secret", b"1700000000000\nsecret", hashlib.sha256).digest()
    ).decode()
    assert dingtalk_sign("1700000000000", "secret") == expected


def test_dingtalk_one_to_one_gets_markdown_with_references(client):
    r = ding_post(client, ding_message("谁负责医保跨省结算？"))
    assert r.status_code == 200
    body = r.json()
    assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("已找到依据")
    text = body["markdown"]["text"]
    assert text.startswith("区医保局。") and "1. [《" in text and f"]({PUBLIC}/docs/003_" in text


def test_dingtalk_group_needs_an_at_mention(client):
    unmentioned = ding_post(client, ding_message("谁负责医保跨省结算？", group=True, at=False))
    assert unmentioned.json() == {"msgtype": "empty"}
    answered = ding_post(client, ding_message("谁负责医保跨省结算？", group=True, at=True)).json()
    assert answered["markdown"]["text"].startswith("区医保局。")


def test_dingtalk_not_found_says_so(client):
    body = ding_post(client, ding_message("江北区安排给黄州区的专项资金具体是多少万元？")).json()
    assert body["markdown"]["text"].startswith("未在已收录的政策文件中找到相关规定。")
    assert "可能相关的条款" in body["markdown"]["text"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"secret": "wrong secret"}, 403, "SignatureMismatch"),
        ({"timestamp": str(int((time.time() - 2 * 3600) * 1000))}, 401, "UnverifiedCallback"),
        ({"timestamp": "yesterday"}, 401, "UnverifiedCallback"),
        ({"raw": b"{not json"}, 400, "BadCallback"),
        ({"raw": b'{"msgtype": "text", "text": "no content"}'}, 400, "BadCallback"),
    ],
    ids=["wrong-sign", "two-hours-old", "bad-timestamp", "malformed", "wrong-shape"],
)
def test_dingtalk_rejections(client, kwargs, status, code):
    r = ding_post(client, ding_message("谁负责医保跨省结算？"), **kwargs)
    assert r.status_code == status and "区医保局" not in r.text
    assert r.json()["error"] == code


def test_dingtalk_missing_headers(client):
    r = client.post("/integrations/dingtalk", json=ding_message("谁负责医保跨省结算？"))
    assert r.status_code == 401


# ---------------------------------------------------------------- 飞书


def feishu_encrypt(key: str, plaintext: str) -> str:
    """Encrypt as Feishu does: AES-256-CBC, key SHA-256(Encrypt Key), random IV prepended."""
    iv = os.urandom(16)
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(data + bytes([pad]) * pad) + enc.finalize()).decode()


def feishu_event(text: str, event_id: str, chat_type: str = "p2p", mention: bool = True) -> dict:
    mentions = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "政策问答"}]
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "token": "verify-token",
            "create_time": "1700000000000",
            "event_type": "im.message.receive_v1",
            "tenant_key": "t",
            "app_id": "cli_test",
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_user"}, "sender_type": "user"},
            "message": {
                "message_id": f"om_{event_id}",
                "chat_id": "oc_1",
                "chat_type": chat_type,
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
                "mentions": mentions if mention else [],
            },
        },
    }


def feishu_request(
    payload: dict,
    *,
    key="feishu encrypt key",
    sign_key=None,
    timestamp=None,
    tamper=False,
    headers=True,
):
    """(body, headers) of an encrypted, signed event built as Feishu builds it."""
    raw = json.dumps({"encrypt": feishu_encrypt(key, json.dumps(payload, ensure_ascii=False))})
    raw = raw.encode()
    timestamp = timestamp or str(int(time.time()))
    nonce = "nonce-1"
    sig = feishu_signature(timestamp, nonce, sign_key or "feishu encrypt key", raw)
    if tamper:
        raw = raw.replace(b'"}', b'A"}')
    signed = {"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce}
    signed["X-Lark-Signature"] = sig
    return raw, {**(signed if headers else {}), "Content-Type": "application/json"}


def feishu_send(client, request):
    raw, headers = request
    return client.post("/integrations/feishu", content=raw, headers=headers)


def feishu_post(client, payload: dict, **kwargs):
    return feishu_send(client, feishu_request(payload, **kwargs))


def test_feishu_published_decryption_vector():
    key, encrypted, plain = FEISHU_VECTOR
    assert feishu_decrypt(key, encrypted) == plain


def test_feishu_plain_url_verification(hashing_engine, tmp_path):
    with make_client(hashing_engine, state_dir=tmp_path, **FEISHU) as plain:
        ok = plain.post(
            "/integrations/feishu",
            json={
                "challenge": "ajls384kdjx98XX",
                "token": "verify-token",
                "type": "url_verification",
            },
        )
        assert ok.status_code == 200 and ok.json() == {"challenge": "ajls384kdjx98XX"}
        wrong = plain.post(
            "/integrations/feishu",
            json={"challenge": "x", "token": "nope", "type": "url_verification"},
        )
        assert wrong.status_code == 403


def test_feishu_encrypted_url_verification(client):
    r = feishu_post(
        client,
        {"challenge": "c-123", "token": "verify-token", "type": "url_verification"},
        headers=False,
    )
    assert r.status_code == 200 and r.json() == {"challenge": "c-123"}


def test_feishu_message_is_answered_through_the_open_api_once(client, open_api):
    open_api.calls.clear()
    event = feishu_event("@_user_1 谁负责医保跨省结算？", "ev-1", chat_type="group")
    first = feishu_post(client, event)
    assert first.status_code == 200 and first.json() == {}
    replies = open_api.replies()
    assert len(replies) == 1 and replies[0][0] == "om_ev-1"
    assert replies[0][1].startswith("区医保局。依据：") and f"{PUBLIC}/docs/003_" in replies[0][1]
    token_calls = [c for c in open_api.calls if c[0].endswith("tenant_access_token/internal")]
    assert token_calls and token_calls[0][1]["app_id"] == "cli_test"
    again = feishu_post(client, event)  # Feishu retries a delivery it thinks failed
    assert again.status_code == 200 and "duplicate" in again.json()["status"]
    assert len(open_api.replies()) == 1


def test_feishu_group_message_without_mention_is_not_answered(client, open_api):
    open_api.calls.clear()
    r = feishu_post(client, feishu_event("谁负责医保跨省结算？", "ev-2", "group", mention=False))
    assert r.status_code == 200 and open_api.replies() == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"sign_key": "another key"}, 403),
        ({"tamper": True}, 403),
        ({"timestamp": str(int(time.time()) - 7200)}, 401),
        ({"headers": False}, 401),
        ({"key": "wrong encrypt key"}, 403),
    ],
    ids=["bad-signature", "tampered-body", "stale", "unsigned", "wrong-key"],
)
def test_feishu_rejections_are_never_answered(client, open_api, kwargs, status):
    open_api.calls.clear()
    r = feishu_post(
        client, feishu_event("谁负责医保跨省结算？", f"ev-{status}-{len(kwargs)}"), **kwargs
    )
    assert r.status_code == status and open_api.replies() == []


def test_feishu_wrong_verification_token(client, open_api):
    open_api.calls.clear()
    event = feishu_event("谁负责医保跨省结算？", "ev-token")
    event["header"]["token"] = "forged"
    assert feishu_post(client, event).status_code == 403 and open_api.replies() == []


def test_feishu_malformed_body(client):
    r = client.post("/integrations/feishu", content=b"[1, 2]")
    assert r.status_code == 400


# ---------------------------------------------------------------- shared


def test_unconfigured_tools_are_404(hashing_engine, tmp_path):
    with make_client(hashing_engine, state_dir=tmp_path) as bare:
        for path in ("/integrations/dingtalk", "/integrations/feishu"):
            r = bare.post(path, json={})
            assert r.status_code == 404 and "not configured" in r.json()["detail"]
            assert r.json()["error"] == "NotConfigured"


def test_long_answers_are_trimmed_with_a_link_back():
    cite = Citation("003_x", "标题", "附件1 › 16.", "句子", 10, 20, 1.0, (), "段落")
    answer = Answer("很长的问题？", "答" * 5000, True, "general", (cite,) * 3, 1.0)
    text = reply_text(answer, PUBLIC, 2048, size=utf8_size)
    assert utf8_size(text) <= 2048
    assert text.endswith(f"完整回答：{PUBLIC}/?q={quote('很长的问题？')}")
    assert "[1] 《标题》附件1 › 16." in text and "…" in text
    short = reply_text(Answer("问", "区医保局。", True, "general", (cite,), 1.0), PUBLIC, 2048)
    assert (
        short
        == f"区医保局。\n\n依据：\n[1] 《标题》附件1 › 16.\n{PUBLIC}/docs/003_x?start=10&end=20#hl"
    )


# ---------------------------------------------------------------- hostile input


def test_non_ascii_signatures_are_refused_not_crashed(client):
    query = {
        "msg_signature": "签名",
        "timestamp": str(int(time.time())),
        "nonce": "1",
        "echostr": WECOM_ECHO["echostr"],
    }
    assert client.get("/integrations/wecom", params=query).status_code == 400  # not a SHA-1
    event = {"challenge": "x", "token": "令牌", "type": "url_verification"}
    r = feishu_post(client, event, headers=False)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"header": "x"},
        {
            "schema": "2.0",
            "header": {"token": "verify-token", "event_type": "im.message.receive_v1"},
            "event": "nope",
        },
    ],
)
def test_feishu_wrongly_shaped_plain_events(hashing_engine, tmp_path, body):
    with make_client(hashing_engine, state_dir=tmp_path, **FEISHU) as plain:
        assert plain.post("/integrations/feishu", json=body).status_code == 400


def test_feishu_encrypt_field_of_the_wrong_type(client):
    assert client.post("/integrations/feishu", json={"encrypt": 1}).status_code == 400


def test_wecom_xml_in_another_encoding_is_refused(client):
    body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><xml></xml>'.encode("utf-16")
    query = {"msg_signature": "x", "timestamp": str(int(time.time())), "nonce": "1"}
    assert client.post("/integrations/wecom", params=query, content=body).status_code == 400


def test_long_questions_still_leave_room_for_the_answer():
    cite = Citation("003_x", "标题", "附件1 › 16.", "句子", 10, 20, 1.0, (), "段落")
    answer = Answer("问" * 300, "区医保局负责。" + "答" * 3000, True, "general", (cite,), 1.0)
    text = reply_text(answer, PUBLIC, 2048, size=utf8_size)
    assert utf8_size(text) <= 2048 and text.startswith("区医保局负责。答")


# ---------------------------------------------------------------- hostile-input table


def asgi(
    app,
    method: str,
    path: str,
    *,
    query: dict | None = None,
    headers: list[tuple[bytes, bytes]] = (),
    chunks: list[bytes] = (b"",),
) -> int:
    """The status of one request sent straight to the ASGI app, with headers exactly as given
    (TestClient re-encodes them: a raw b"\\xb2" would arrive as "Â²", not "²"), the body in
    ``chunks`` and no Content-Length unless one is given. An exception counts as a 500."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query or {}).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    try:
        asyncio.run(app(scope, receive, send))
    except Exception:  # what a server would answer 500 to
        return 500
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def now_s() -> str:
    return str(int(time.time()))


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BIG = b"x" * (64 * 1024 + 1)
HOSTILE_TIMESTAMPS = {  # (value, why) each a 500 or a pass before bounded parsing
    "superscript": ("²", "str.isdigit() is True, int() fails"),
    "400-digits": ("9" * 400, "int() works, float division overflows"),
    "5000-digits": ("9" * 5000, "int() refuses more than 4300 digits"),
}
# as header bytes: "²" is the one byte Latin-1 gives it
HEADER_TIMESTAMPS = {k: v.encode("latin-1") for k, (v, _) in HOSTILE_TIMESTAMPS.items()}


def wecom_get(ts=None, nonce="1", sig="0" * 40, echostr="AAAA"):
    query = {
        "msg_signature": sig,
        "timestamp": now_s() if ts is None else ts,
        "nonce": nonce,
        "echostr": echostr,
    }
    return lambda app: asgi(app, "GET", "/integrations/wecom", query=query)


def wecom_raw(
    body: bytes | list[bytes] = b"<xml/>",
    ts=None,
    nonce="1",
    sig="0" * 40,
    headers=(),
    signed_encrypt: str | None = None,
):
    """A POST; with ``signed_encrypt`` the body carries that Encrypt text, correctly signed."""
    ts = ts or now_s()
    if signed_encrypt is not None:
        sig = WeComCrypto(WECOM["token"], WECOM["key"], WECOM["corp"]).signature(
            ts, nonce, signed_encrypt
        )
        body = f"<xml><Encrypt><![CDATA[{signed_encrypt}]]></Encrypt></xml>".encode()
    chunks = body if isinstance(body, list) else [body]
    query = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
    return lambda app: asgi(
        app, "POST", "/integrations/wecom", query=query, headers=list(headers), chunks=chunks
    )


def ding_raw(
    body: bytes | list[bytes] = b"{}",
    ts: bytes | None = None,
    sign: bytes | None = None,
    headers=(),
):
    """A POST, signed with the right secret unless ``ts`` or ``sign`` say otherwise."""

    def send(app):
        stamp = ts if ts is not None else ding_timestamp().encode()
        given = sign
        if given is None:
            given = dingtalk_sign(stamp.decode("latin-1"), DING_SECRET).encode()
        chunks = body if isinstance(body, list) else [body]
        return asgi(
            app,
            "POST",
            "/integrations/dingtalk",
            headers=[(b"timestamp", stamp), (b"sign", given), *headers],
            chunks=chunks,
        )

    return send


def feishu_raw(
    body: bytes | list[bytes] = b"{}",
    ts: bytes | None = None,
    nonce=b"n-1",
    sig: bytes | None = None,
    headers=(),
    plain=False,
):
    """A POST, signed correctly unless ``ts`` or ``sig`` say otherwise; ``plain``: to the app
    without an Encrypt Key, unsigned."""

    def send(apps):
        app = apps[1] if plain else apps[0]
        chunks = body if isinstance(body, list) else [body]
        if plain:
            return asgi(app, "POST", "/integrations/feishu", headers=list(headers), chunks=chunks)
        stamp = ts if ts is not None else now_s().encode()
        given = (
            sig
            if sig is not None
            else feishu_signature(
                stamp.decode("latin-1"),
                nonce.decode("latin-1"),
                "feishu encrypt key",
                b"".join(chunks),
            ).encode()
        )
        sent = [
            (b"x-lark-request-timestamp", stamp),
            (b"x-lark-request-nonce", nonce),
            (b"x-lark-signature", given),
            *headers,
        ]
        return asgi(app, "POST", "/integrations/feishu", headers=sent, chunks=chunks)

    return send


def plain_event(**fields) -> bytes:
    return json.dumps(
        {"type": "url_verification", "token": "verify-token", "challenge": "c", **fields},
        ensure_ascii=False,
    ).encode()


def message_event(header: dict) -> bytes:
    event = feishu_event("谁负责医保跨省结算？", "ev-hostile")
    event["header"] = {**event["header"], **header}
    return json.dumps(event).encode()


LYING_LENGTH = [(b"content-length", b"10")]
HOSTILE = {  # name: (send(app) -> status, expected status)
    # 企业微信 URL verification: query parameters
    **{f"wecom-get-ts-{k}": (wecom_get(ts=v), 401) for k, (v, _) in HOSTILE_TIMESTAMPS.items()},
    "wecom-get-ts-arabic-digits": (
        wecom_get(ts="".join(chr(0x660 + int(d)) for d in now_s())),
        401,
    ),
    "wecom-get-ts-negative": (wecom_get(ts="-" + now_s()), 401),
    "wecom-get-ts-float": (wecom_get(ts=now_s() + ".5"), 401),
    "wecom-get-ts-bidi": (wecom_get(ts="\u202e" + now_s()), 401),
    "wecom-get-ts-empty": (wecom_get(ts=""), 401),
    "wecom-get-nonce-nul": (wecom_get(nonce="1\x00"), 400),
    "wecom-get-nonce-bidi": (wecom_get(nonce="\u202e1"), 400),
    "wecom-get-nonce-5000": (wecom_get(nonce="1" * 5000), 400),
    "wecom-get-signature-5000": (wecom_get(sig="a" * 5000), 400),
    "wecom-get-signature-zero-width": (wecom_get(sig="0" * 39 + "\u200b"), 400),
    "wecom-get-echostr-100k": (wecom_get(echostr="A" * 100_000), 422),
    "wecom-get-wrong-signature": (wecom_get(), 403),
    # 企业微信 messages
    **{f"wecom-post-ts-{k}": (wecom_raw(ts=v), 401) for k, (v, _) in HOSTILE_TIMESTAMPS.items()},
    "wecom-post-nonce-escape-sequence": (wecom_raw(nonce="\x1b[31m"), 400),
    "wecom-post-body-over-64k": (wecom_raw(BIG), 413),
    "wecom-post-chunked-over-64k": (wecom_raw([b"<xml>"] + [b"x" * 8192] * 9), 413),
    "wecom-post-lying-content-length": (wecom_raw([BIG], headers=LYING_LENGTH), 413),
    "wecom-post-nested-5000": (wecom_raw(b"<a>" * 5_000 + b"</a>" * 5_000), 400),
    "wecom-post-nested-33": (wecom_raw(b"<a>" * 33 + b"</a>" * 33), 400),
    "wecom-post-utf16": (wecom_raw("<xml><Encrypt>x</Encrypt></xml>".encode("utf-16")), 400),
    "wecom-post-invalid-utf8": (wecom_raw(b"<xml><Encrypt>\xff\xfe</Encrypt></xml>"), 400),
    "wecom-post-billion-laughs": (
        wecom_raw(
            b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<xml><Encrypt>&b;</Encrypt></xml>"
        ),
        400,
    ),
    "wecom-post-empty": (wecom_raw(b""), 400),
    "wecom-post-wrong-signature": (wecom_raw(b"<xml><Encrypt>AAAA</Encrypt></xml>"), 403),
    "wecom-post-signed-not-base64": (wecom_raw(signed_encrypt="!!not base64!!"), 400),
    "wecom-post-signed-partial-block": (wecom_raw(signed_encrypt="A" * 24), 400),
    "wecom-post-signed-random-blocks": (
        wecom_raw(signed_encrypt=base64.b64encode(bytes(range(64))).decode()),
        403,
    ),
    # 钉钉: headers, then the signed body
    **{f"ding-ts-{k}": (ding_raw(ts=v), 401) for k, v in HEADER_TIMESTAMPS.items()},
    "ding-ts-raw-superscript-byte": (ding_raw(ts=b"\xb2"), 401),
    "ding-ts-nul": (ding_raw(ts=b"1700\x00000000000"), 401),
    "ding-ts-fraction": (ding_raw(ts=now_s().encode() + b"000.5"), 401),
    "ding-sign-latin1": (ding_raw(sign=b"\xff\xfe"), 403),
    "ding-nested-20000": (ding_raw(nested(20_000)), 400),
    "ding-nested-33-in-object": (ding_raw(b'{"msgtype": "text", "x": ' + nested(33) + b"}"), 400),
    "ding-huge-integer": (ding_raw(b'{"msgtype": "text", "n": ' + b"9" * 5000 + b"}"), 400),
    "ding-utf16": (ding_raw(json.dumps(ding_message("问")).encode("utf-16")), 400),
    "ding-invalid-utf8": (ding_raw(b'{"msgtype": "text", "text": {"content": "\xff"}}'), 400),
    "ding-nan": (ding_raw(b"NaN"), 400),
    "ding-text-null": (ding_raw(b'{"msgtype": "text", "text": null}'), 400),
    "ding-msgid-object": (
        ding_raw(json.dumps({**ding_message("问"), "msgId": {"a": 1}}).encode()),
        400,
    ),
    "ding-empty-body": (ding_raw(b""), 400),
    "ding-body-over-64k": (ding_raw(BIG), 413),
    "ding-chunked-over-64k": (ding_raw([b"{"] + [b" " * 8192] * 9), 413),
    # 飞书 with an Encrypt Key: signature headers, then the signed body
    **{f"feishu-ts-{k}": (feishu_raw(ts=v), 401) for k, v in HEADER_TIMESTAMPS.items()},
    "feishu-ts-raw-superscript-byte": (feishu_raw(ts=b"\xb2"), 401),
    "feishu-nonce-control": (feishu_raw(nonce=b"n\x07"), 400),
    "feishu-signature-5000": (feishu_raw(sig=b"a" * 5000), 400),
    "feishu-signature-latin1": (feishu_raw(sig=b"\xe9" * 64), 400),
    "feishu-wrong-signature-before-parsing": (feishu_raw(b"{not json", sig=b"0" * 64), 403),
    "feishu-signed-not-json": (feishu_raw(b"{not json"), 400),
    "feishu-signed-nested": (feishu_raw(nested(20_000)), 400),
    "feishu-signed-not-encrypted": (feishu_raw(plain_event()), 400),
    "feishu-signed-encrypt-not-base64": (feishu_raw(b'{"encrypt": "%%%"}'), 400),
    "feishu-body-over-64k": (feishu_raw(BIG), 413),
    # 飞书 without an Encrypt Key: the token is all there is
    "feishu-plain-nested-20000": (feishu_raw(nested(20_000), plain=True), 400),
    "feishu-plain-nested-40-in-object": (
        feishu_raw(b'{"a": ' + nested(40) + b"}", plain=True),
        400,
    ),
    "feishu-plain-challenge-not-a-string": (
        feishu_raw(plain_event(challenge=json.loads(nested(30))), plain=True),
        400,
    ),
    "feishu-plain-token-bidi": (
        feishu_raw(plain_event(token="\u202everify-token"), plain=True),
        403,
    ),
    "feishu-plain-token-list": (feishu_raw(plain_event(token=["verify-token"]), plain=True), 403),
    "feishu-plain-token-lone-surrogate": (
        feishu_raw(b'{"type": "url_verification", "token": "\\ud800"}', plain=True),
        403,
    ),
    "feishu-plain-bom": (feishu_raw(b"\xef\xbb\xbf" + plain_event(), plain=True), 400),
    "feishu-plain-string": (feishu_raw(b'"verify-token"', plain=True), 400),
    "feishu-plain-huge-exponent": (feishu_raw(b'{"header": 1e999999}', plain=True), 400),
    "feishu-plain-event-id-object": (
        feishu_raw(message_event({"event_id": {"a": 1}}), plain=True),
        400,
    ),
    "feishu-plain-event-id-missing": (
        feishu_raw(message_event({"event_id": None}), plain=True),
        400,
    ),
    "feishu-plain-chunked-over-64k": (feishu_raw([b"{"] + [b" " * 8192] * 9, plain=True), 413),
}


@pytest.fixture(scope="module")
def hostile_apps(hashing_engine, tmp_path_factory):
    """The three bots configured (飞书 with an Encrypt Key), and 飞书 without one."""
    settings = hashing_engine.settings.with_(
        public_url=PUBLIC,
        state_dir=tmp_path_factory.mktemp("hostile"),
        feishu_api_base="http://127.0.0.1:9",
        **BOTS,
    )
    return (
        create_app(settings, hashing_engine),
        create_app(settings.with_(feishu_encrypt_key=""), hashing_engine),
    )


def test_the_hostile_table_is_big_enough():
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_gets_a_4xx_never_a_5xx(hostile_apps, name):
    send, expected = HOSTILE[name]
    target = hostile_apps if name.startswith("feishu") else hostile_apps[0]
    assert send(target) == expected


# ---------------------------------------------------------------- replays


def test_dingtalk_replayed_sign_is_refused_even_with_another_body(client):
    stamp = ding_timestamp()
    first = ding_post(client, ding_message("谁负责医保跨省结算？"), timestamp=stamp)
    assert first.status_code == 200 and first.json()["msgtype"] == "markdown"
    forged = ding_post(client, ding_message("医保跨省结算由哪个部门负责？"), timestamp=stamp)
    assert forged.status_code == 409 and "区医保局" not in forged.text
    again = ding_post(client, ding_message("谁负责医保跨省结算？"), timestamp=stamp)
    assert again.status_code == 409 and again.json()["error"] == "Replayed"


def test_dingtalk_redelivery_of_a_message_is_not_answered_twice(client):
    message = ding_message("谁负责医保跨省结算？")
    assert ding_post(client, message).json()["msgtype"] == "markdown"
    assert ding_post(client, message).json() == {"msgtype": "empty"}  # new sign, same msgId


def test_replays_are_refused_after_a_restart(hashing_engine, open_api, tmp_path):
    """A new app over the same state folder still knows what the old one answered."""
    settings = {**BOTS, "feishu_api_base": open_api.url}
    wecom = wecom_request("谁负责医保跨省结算？")
    stamp = ding_timestamp()
    headers = {"timestamp": stamp, "sign": dingtalk_sign(stamp, DING_SECRET)}
    ding = json.dumps(ding_message("谁负责医保跨省结算？")).encode()
    feishu = feishu_request(feishu_event("谁负责医保跨省结算？", f"ev-{uuid.uuid4()}"))
    open_api.calls.clear()

    def send_all(c):
        return (
            wecom_send(c, wecom),
            c.post("/integrations/dingtalk", content=ding, headers=headers),
            feishu_send(c, feishu),
        )

    with make_client(hashing_engine, state_dir=tmp_path / "state", **settings) as before:
        w, d, f = send_all(before)
    assert "<Encrypt>" in w.text and d.json()["msgtype"] == "markdown" and f.json() == {}
    assert len(open_api.replies()) == 1
    with make_client(hashing_engine, state_dir=tmp_path / "state", **settings) as after:
        w, d, f = send_all(after)
    assert (w.status_code, w.text) == (200, "")
    assert d.status_code == 409 and "区医保局" not in d.text
    assert f.json() == {"status": "duplicate event ignored"}
    assert len(open_api.replies()) == 1
    with make_client(hashing_engine, state_dir=tmp_path / "other", **settings) as elsewhere:
        w, d, f = send_all(elsewhere)  # the control: the refusals above came from the state
    assert "<Encrypt>" in w.text and d.json()["msgtype"] == "markdown"
    assert len(open_api.replies()) == 2


def test_seen_ids_expire_and_stay_bounded(tmp_path):
    seen = SeenIds(tmp_path / "seen.sqlite3", ttl=10, capacity=300)
    assert seen.first_time("a", now=0) and not seen.first_time("a", now=5)
    assert seen.first_time("a", now=11)  # expired, so new again
    for n in range(1000):
        seen.first_time(f"k{n}", now=20)
    assert 300 <= len(seen) <= 300 + 256
    assert (tmp_path / "seen.sqlite3").stat().st_mode & 0o077 == 0


def test_seen_ids_have_one_winner_across_threads_and_instances(tmp_path):
    path, results = tmp_path / "seen.sqlite3", []
    barrier = threading.Barrier(8)

    def race():
        store = SeenIds(path)  # its own connection, like another worker process
        barrier.wait()
        results.append(store.first_time("the same message"))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_an_unusable_replay_store_fails_closed(hashing_engine, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with make_client(
        hashing_engine, state_dir=blocker / "state", dingtalk_app_secret=DING_SECRET
    ) as c:
        r = ding_post(c, ding_message("谁负责医保跨省结算？"))
    assert r.status_code == 503 and "RAG_STATE_DIR" in r.json()["detail"]
    assert r.json()["error"] == "IntegrationBroken"


# ---------------------------------------------------------------- off the event loop


def test_bots_parse_and_answer_off_the_event_loop(hashing_engine, tmp_path, monkeypatch):
    """Decrypting, parsing and answering run in worker threads, never on the event loop."""
    on_loop: list[tuple[str, bool]] = []

    def watch(name, fn):
        def wrapped(*args, **kwargs):
            on_loop.append((name, loop_running()))
            return fn(*args, **kwargs)

        return wrapped

    class WatchedEngine:
        def __init__(self, engine):
            self.settings, self.ask = engine.settings, watch("ask", engine.ask)

    for module, name in (
        (wecom_module, "parse_xml"),
        (dingtalk_module, "load_json"),
        (feishu_module, "load_json"),
        (feishu_module, "decrypt"),
    ):
        monkeypatch.setattr(module, name, watch(name, getattr(module, name)))
    with make_client(WatchedEngine(hashing_engine), state_dir=tmp_path, **BOTS) as c:
        assert "<Encrypt>" in wecom_post(c, "谁负责医保跨省结算？").text
        assert ding_post(c, ding_message("谁负责医保跨省结算？")).json()["msgtype"] == "markdown"
        verification = {"challenge": "c", "token": "verify-token", "type": "url_verification"}
        assert feishu_post(c, verification, headers=False).json() == {"challenge": "c"}
    names = {name for name, _ in on_loop}
    assert names == {"parse_xml", "load_json", "decrypt", "ask"}
    assert not any(running for _, running in on_loop), on_loop


def loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_hostile_characters_in_a_signed_question_get_an_answer(client):
    """Bidi overrides, zero-width and control characters, a lone surrogate: still answered."""
    text = "\u202e谁负责\u200b医保跨省结算？\x00\ud800"
    raw = json.dumps(ding_message(text)).encode()  # ASCII JSON with \\u escapes
    r = ding_post(client, None, raw=raw)
    assert r.status_code == 200 and r.json()["markdown"]["text"].startswith("区医保局。")
    assert "\u202e" not in r.json()["markdown"]["title"]


def test_a_body_of_exactly_the_limit_is_read_one_byte_more_is_not(client):
    message = json.dumps(ding_message("谁负责医保跨省结算？")).encode()
    padded = message[:-1] + b" " * (MAX_BODY - len(message)) + b"}"
    assert len(padded) == MAX_BODY
    assert ding_post(client, None, raw=padded).json()["msgtype"] == "markdown"
    over = message[:-1] + b" " * (MAX_BODY - len(message) + 1) + b"}"
    assert ding_post(client, None, raw=over).status_code == 413
