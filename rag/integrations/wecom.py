"""企业微信 (WeCom) self-built app callback at ``/integrations/wecom``.

The vendor's message encryption ("WXBizMsgCrypt"):
- msg_signature = SHA-1 of the sorted, concatenated Token, timestamp, nonce and ciphertext;
- key = base64(EncodingAESKey + "="), 32 bytes; IV = its first 16 bytes; AES-256-CBC with
  PKCS#7 padding to a multiple of 32 bytes;
- plaintext = 16 random bytes + 4-byte big-endian length + message + receive id (the CorpID).

``GET`` verifies the URL (answers the decrypted ``echostr``); ``POST`` receives an encrypted
XML message and answers a text message with an encrypted passive reply (within WeCom's 5 s).
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
import xml.etree.ElementTree as ET
from xml.parsers import expat

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from rag.deps import EngineDep
from rag.engine import Engine
from rag.errors import BadCallback, IntegrationBroken, SignatureMismatch
from rag.integrations.common import (
    MAX_DEPTH,
    SeenIds,
    aes_cbc,
    ask_or_clarify,
    check_time,
    check_token,
    not_configured,
    nothing_to_ask,
    pkcs7_pad,
    pkcs7_unpad,
    question_text,
    read_body,
    same,
    seen_ids,
    utf8_size,
)
from rag.replies import reply_text

router = APIRouter(prefix="/integrations/wecom", tags=["integrations"])
TEXT_LIMIT = 2048  # bytes of Content in a text message
BLOCK = 32


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except ValueError as e:
            raise ValueError("EncodingAESKey must be 43 base64 characters") from e
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.token, self.receive_id = token, receive_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()

    def verify(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not same(signature or "", self.signature(timestamp, nonce, encrypted)):
            raise SignatureMismatch("msg_signature does not match")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except ValueError as e:
            raise BadCallback("ciphertext is not base64") from e
        plain = pkcs7_unpad(aes_cbc(self.key, self.key[:16], raw, decrypt=True), BLOCK)
        if len(plain) < 20:
            raise BadCallback("decrypted message is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if receive_id.decode("utf-8", "replace") != self.receive_id:
            raise SignatureMismatch("the message is for another receive id (CorpID)")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadCallback("the decrypted message is not UTF-8") from e

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body
        plain += self.receive_id.encode()
        return base64.b64encode(
            aes_cbc(self.key, self.key[:16], pkcs7_pad(plain, BLOCK), decrypt=False)
        ).decode()


def _crypto(request: Request) -> WeComCrypto:
    s = request.app.state.runtime.settings
    if not (s.wecom_token and s.wecom_aes_key and s.wecom_corp_id):
        raise not_configured("企业微信", "RAG_WECOM_TOKEN, RAG_WECOM_AES_KEY, RAG_WECOM_CORP_ID")
    try:
        return WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
    except ValueError as e:
        raise IntegrationBroken(
            f"RAG_WECOM_AES_KEY is unusable ({e}): copy it again from the app's 接收消息 settings"
        ) from e


def _check_query(request: Request, msg_signature: str, timestamp: str, nonce: str) -> None:
    """The signed query parameters, bounded and the timestamp fresh, before anything else."""
    skew = request.app.state.runtime.settings.max_clock_skew
    check_time(timestamp, skew, "timestamp")
    check_token(nonce, "nonce")
    check_token(msg_signature, "msg_signature")


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse a small UTF-8 XML document; any DTD (and so any entity trick) and any nesting
    deeper than ``MAX_DEPTH`` are refused while scanning, before the document is built."""
    depth = 0

    def start(*_: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise BadCallback(f"XML nested more than {MAX_DEPTH} levels deep")

    def end(*_: object) -> None:
        nonlocal depth
        depth -= 1

    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        scan = expat.ParserCreate()
        scan.StartDoctypeDeclHandler = _no_doctype
        scan.StartElementHandler, scan.EndElementHandler = start, end
        scan.Parse(text, True)
        return ET.fromstring(text)
    except (UnicodeError, expat.ExpatError, ET.ParseError) as e:
        raise BadCallback(f"malformed XML: {e}") from e


def _no_doctype(*_: object) -> None:
    raise BadCallback("XML with a DOCTYPE is not accepted")


@router.get("", response_class=PlainTextResponse)
def verify_url(
    request: Request,
    msg_signature: str = Query(...),
    timestamp: str = Query(...),
    nonce: str = Query(...),
    echostr: str = Query(..., max_length=4096),
) -> PlainTextResponse:
    """URL verification: check the signature, answer the decrypted echostr (a plain ``def``,
    so FastAPI runs it in the thread pool)."""
    crypto = _crypto(request)
    _check_query(request, msg_signature, timestamp, nonce)
    crypto.verify(msg_signature, timestamp, nonce, echostr)
    return PlainTextResponse(crypto.decrypt(echostr))


@router.post("")
async def receive(
    request: Request,
    engine: EngineDep,
    msg_signature: str = Query(...),
    timestamp: str = Query(...),
    nonce: str = Query(...),
) -> Response:
    """An encrypted message; a text message gets an encrypted passive reply with the answer.
    The query is checked first; the body is read bounded and handled off the event loop."""
    crypto = _crypto(request)
    _check_query(request, msg_signature, timestamp, nonce)
    raw = await read_body(request)
    signed = (msg_signature, timestamp, nonce)
    settings = request.app.state.runtime.settings
    return await run_in_threadpool(
        answer, raw, signed, crypto, seen_ids(request), engine, settings.public_url
    )


def answer(
    raw: bytes,
    signed: tuple[str, str, str],
    crypto: WeComCrypto,
    seen: SeenIds,
    engine: Engine,
    public_url: str,
) -> Response:
    """The reply to a callback. WeCom signs the ciphertext, not the envelope around it, so the
    envelope (bounded, no DTD, shallow) is the only thing read before the signature check."""
    msg_signature, timestamp, nonce = signed
    encrypted = parse_xml(raw).findtext("Encrypt")
    if not encrypted:
        raise BadCallback("no Encrypt element in the message")
    crypto.verify(msg_signature, timestamp, nonce, encrypted)
    message = parse_xml(crypto.decrypt(encrypted))
    question = question_text(message.findtext("Content"))
    if message.findtext("MsgType") != "text" or nothing_to_ask(message.findtext("Content")):
        return Response(status_code=200)  # events, images…: acknowledged, not answered
    msg_id = message.findtext("MsgId") or hashlib.sha256(encrypted.encode()).hexdigest()
    if not seen.first_time(f"wecom:{crypto.receive_id}:{msg_id}"):
        return Response(status_code=200)  # a retry or a replay of a message already answered
    result = ask_or_clarify(engine, question, message.findtext("Content"))
    content = reply_text(result, public_url, TEXT_LIMIT, size=utf8_size)
    reply = reply_xml(message.findtext("FromUserName", ""), crypto.receive_id, content)
    return Response(encrypted_reply(crypto, reply, nonce), media_type="application/xml")


def reply_xml(to_user: str, from_corp: str, content: str) -> str:
    root = ET.Element("xml")
    for tag, value in (
        ("ToUserName", to_user),
        ("FromUserName", from_corp),
        ("CreateTime", str(int(time.time()))),
        ("MsgType", "text"),
        ("Content", content),
    ):
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="unicode")


def encrypted_reply(crypto: WeComCrypto, message: str, nonce: str) -> str:
    """The passive reply envelope: Encrypt, MsgSignature, TimeStamp, Nonce."""
    timestamp = str(int(time.time()))
    encrypted = crypto.encrypt(message)
    root = ET.Element("xml")
    for tag, value in (
        ("Encrypt", encrypted),
        ("MsgSignature", crypto.signature(timestamp, nonce, encrypted)),
        ("TimeStamp", timestamp),
        ("Nonce", nonce),
    ):
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="unicode")
