"""飞书 (Feishu/Lark) event subscription at ``/integrations/feishu``.

- ``url_verification``: answer the challenge, plain or encrypted, if the Verification Token
  matches.
- Encrypted bodies ``{"encrypt": …}``: key = SHA-256(Encrypt Key); the base64-decoded payload
  is IV (16 bytes) + AES-256-CBC ciphertext with PKCS#7 padding.
- Signed events: X-Lark-Signature = hex SHA-256 of timestamp + nonce + Encrypt Key + raw body;
  required when an Encrypt Key is configured, together with a fresh X-Lark-Request-Timestamp.
- ``im.message.receive_v1`` text messages (with @-mentions stripped) are answered through the
  open API — tenant_access_token, then a reply to the message — after the event is acknowledged,
  since Feishu expects an answer within 3 s. Retried deliveries (same event id) are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass

import httpx
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool

from rag.deps import EngineDep
from rag.engine import Engine
from rag.errors import BadCallback, RagError, SignatureMismatch, UnverifiedCallback
from rag.integrations.common import (
    SeenIds,
    aes_cbc,
    ask_or_clarify,
    check_time,
    check_token,
    load_json,
    not_configured,
    nothing_to_ask,
    pkcs7_unpad,
    question_text,
    read_body,
    same,
    seen_ids,
)
from rag.replies import reply_text
from rag.settings import Settings

router = APIRouter(prefix="/integrations/feishu", tags=["integrations"])
log = logging.getLogger(__name__)
TEXT_LIMIT = 4000
MESSAGE_EVENT = "im.message.receive_v1"


def decrypt(encrypt_key: str, encrypted: str) -> str:
    key = hashlib.sha256(encrypt_key.encode()).digest()
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except ValueError as e:
        raise BadCallback("encrypt is not base64") from e
    if len(raw) < 32:
        raise BadCallback("encrypt is too short")
    plain = pkcs7_unpad(aes_cbc(key, raw[:16], raw[16:], decrypt=True), 16)
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SignatureMismatch("decryption failed: wrong key or tampered message") from e


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


class OpenApi:
    """The two open-API calls a reply needs, with the tenant token cached until it expires."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._token, self._expires = "", 0.0

    def token(self) -> str:
        if time.time() < self._expires - 60:
            return self._token
        s = self.settings
        r = httpx.post(
            f"{s.feishu_api_base}/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": s.feishu_app_id, "app_secret": s.feishu_app_secret},
            timeout=10,
        )
        r.raise_for_status()
        body = r.json()
        if body.get("code") != 0:
            raise RuntimeError(f"tenant_access_token refused: {body.get('msg')}")
        self._token, self._expires = body["tenant_access_token"], time.time() + body["expire"]
        return self._token

    def reply(self, message_id: str, text: str) -> None:
        r = httpx.post(
            f"{self.settings.feishu_api_base}/open-apis/im/v1/messages/{message_id}/reply",
            headers={"Authorization": f"Bearer {self.token()}"},
            json={"msg_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False)},
            timeout=10,
        )
        r.raise_for_status()
        if r.json().get("code") != 0:
            raise RuntimeError(f"reply refused: {r.json().get('msg')}")


def _api(request: Request) -> OpenApi:
    state = request.app.state
    if not hasattr(state, "feishu_api"):
        state.feishu_api = OpenApi(state.runtime.settings)
    return state.feishu_api


@router.post("")
async def receive(request: Request, background: BackgroundTasks, engine: EngineDep) -> dict:
    """Headers are checked first; the body is read bounded and handled off the event loop."""
    s: Settings = request.app.state.runtime.settings
    if not (s.feishu_app_id and s.feishu_app_secret and s.feishu_verification_token):
        raise not_configured(
            "飞书", "RAG_FEISHU_APP_ID, RAG_FEISHU_APP_SECRET, RAG_FEISHU_VERIFICATION_TOKEN"
        )
    signed = None  # without an Encrypt Key there is nothing to check a signature with
    if s.feishu_encrypt_key and "x-lark-signature" in request.headers:
        signed = _signed_by(request, s)
    raw = await read_body(request)
    reply = await run_in_threadpool(_event, raw, signed, seen_ids(request), s)
    if isinstance(reply, Question):
        background.add_task(
            _answer, engine, _api(request), reply.message_id, reply.text, s.public_url
        )
        return {}
    return reply


@dataclass(frozen=True)
class Question:
    """A message event to answer after it is acknowledged."""

    message_id: str
    text: str


def _signed_by(request: Request, s: Settings) -> tuple[str, str, str]:
    """(timestamp, nonce, signature) of a signed callback, each checked for shape (and the
    timestamp for freshness) before the body is read."""
    h = request.headers
    timestamp = h.get("x-lark-request-timestamp", "")
    check_time(timestamp, s.max_clock_skew, "X-Lark-Request-Timestamp")
    nonce = check_token(h.get("x-lark-request-nonce"), "X-Lark-Request-Nonce")
    return timestamp, nonce, check_token(h.get("x-lark-signature"), "X-Lark-Signature")


def _event(
    raw: bytes, signed: tuple[str, str, str] | None, seen: SeenIds, s: Settings
) -> dict | Question:
    """What to do with a callback: the signature (if any) is checked before the body is read."""
    if signed is not None:
        _check_signature(signed, raw, s)
    payload = _payload(raw, s)
    if payload.get("type") == "url_verification":  # may come unsigned; only the token counts
        _check_token(payload.get("token"), s)
        challenge = payload.get("challenge", "")
        if not isinstance(challenge, str):
            raise BadCallback("the url_verification challenge is not a string")
        return {"challenge": challenge}
    if s.feishu_encrypt_key and signed is None:
        raise UnverifiedCallback("events must carry X-Lark-Signature when an Encrypt Key is set")
    header, event = payload.get("header"), payload.get("event")
    if not isinstance(header, dict):
        raise BadCallback("event without a header (only schema 2.0 events are handled)")
    _check_token(header.get("token"), s)
    if header.get("event_type") != MESSAGE_EVENT:
        return {}
    message = event.get("message") if isinstance(event, dict) else None
    event_id = header.get("event_id")
    if not isinstance(message, dict) or not isinstance(event_id, str) or not event_id:
        raise BadCallback("message event without a message or an event_id")
    if not seen.first_time(f"feishu:{event_id}"):
        return {"status": "duplicate event ignored"}
    text = _question(message)
    return {} if nothing_to_ask(text) else Question(message["message_id"], text)


def _payload(raw: bytes, s: Settings) -> dict:
    body = load_json(raw, "event body")
    if not isinstance(body, dict):
        raise BadCallback("malformed event body: not an object")
    if "encrypt" in body:
        if not isinstance(body["encrypt"], str):
            raise BadCallback("malformed event body: encrypt is not a string")
        if not s.feishu_encrypt_key:
            raise BadCallback("encrypted event but no RAG_FEISHU_ENCRYPT_KEY configured")
        body = load_json(decrypt(s.feishu_encrypt_key, body["encrypt"]), "decrypted event")
    elif s.feishu_encrypt_key:
        raise BadCallback("an Encrypt Key is configured, so events must be encrypted")
    if not isinstance(body, dict):
        raise BadCallback("malformed event body: not an object")
    return body


def _check_token(token: object, s: Settings) -> None:
    if not isinstance(token, str) or not same(token, s.feishu_verification_token):
        raise SignatureMismatch("verification token does not match")


def _check_signature(signed: tuple[str, str, str], raw: bytes, s: Settings) -> None:
    timestamp, nonce, given = signed
    if not same(given, signature(timestamp, nonce, s.feishu_encrypt_key, raw)):
        raise SignatureMismatch("X-Lark-Signature does not match")


def _question(message: dict) -> str:
    """The text of a text message with @-mentions removed; group messages must mention us."""
    if message.get("message_type") != "text":
        return ""
    if not isinstance(message.get("message_id"), str) or not message["message_id"]:
        return ""
    if not isinstance(message.get("content") or "{}", str):  # Feishu sends a JSON string
        return ""
    try:
        content = load_json(message.get("content") or "{}", "message content")
    except BadCallback:
        return ""
    text = content.get("text", "") if isinstance(content, dict) else ""
    if not isinstance(text, str):
        return ""
    mentions = message.get("mentions") if isinstance(message.get("mentions"), list) else []
    keys = [m["key"] for m in mentions if isinstance(m, dict) and isinstance(m.get("key"), str)]
    if message.get("chat_type") == "group" and not keys:
        return ""
    for key in filter(None, keys):
        text = text.replace(key, "")
    return text.replace("@_all", "")


def _answer(engine: Engine, api: OpenApi, message_id: str, question: str, public_url: str):
    try:
        result = ask_or_clarify(engine, question_text(question), question)
        api.reply(message_id, reply_text(result, public_url, TEXT_LIMIT))
    except (httpx.HTTPError, RuntimeError, KeyError, ValueError, RagError) as e:
        log.warning("飞书 reply to %s failed: %s", message_id, e)
