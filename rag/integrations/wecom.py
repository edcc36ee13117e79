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
from rag.integrations.common import (
    Rejected,
    SeenIds,
    aes_cbc,
    fresh,
    not_configured,
    pkcs7_pad,
    pkcs7_unpad,
    reply_text,
    same,
    utf8_size,
)

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
            raise Rejected(403, "msg_signature does not match")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except ValueError as e:
            raise Rejected(400, "ciphertext is not base64") from e
        plain = pkcs7_unpad(aes_cbc(self.key, self.key[:16], raw, decrypt=True), BLOCK)
        if len(plain) < 20:
            raise Rejected(400, "decrypted message is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if receive_id.decode("utf-8", "replace") != self.receive_id:
            raise Rejected(403, "the message is for another receive id (CorpID)")
        return message.decode("utf-8")

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body
        plain += self.receive_id.encode()
        return base64.b64encode(aes_cbc(self.key, self.key[:16], pkcs7_pad(plain, BLOCK),
                                        decrypt=False)).decode()  # fmt: skip


def _crypto(request: Request) -> WeComCrypto:
    s = request.app.state.runtime.settings
    if not (s.wecom_token and s.wecom_aes_key and s.wecom_corp_id):
        raise not_configured("企业微信", "RAG_WECOM_TOKEN, RAG_WECOM_AES_KEY, RAG_WECOM_CORP_ID")
    return WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)


def _check_time(request: Request, timestamp: str) -> None:
    skew = request.app.state.runtime.settings.max_clock_skew
    if not timestamp.isdigit() or not fresh(int(timestamp), skew):
        raise Rejected(401, "timestamp is missing or too far from the server's clock")


def _no_doctype(*_: object) -> None:
    raise Rejected(400, "XML with a DOCTYPE is not accepted")


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse a small UTF-8 XML document; any DTD (and so any entity trick) is refused before
    the document is built."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        scan = expat.ParserCreate()
        scan.StartDoctypeDeclHandler = _no_doctype
        scan.Parse(text, True)
        return ET.fromstring(text)
    except (UnicodeDecodeError, expat.ExpatError, ET.ParseError) as e:
        raise Rejected(400, f"malformed XML: {e}") from e


@router.get("", response_class=PlainTextResponse)
def verify_url(
    request: Request,
    msg_signature: str = Query(...),
    timestamp: str = Query(...),
    nonce: str = Query(...),
    echostr: str = Query(...),
) -> PlainTextResponse:
    """URL verification: check the signature, answer the decrypted echostr."""
    crypto = _crypto(request)
    _check_time(request, timestamp)
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
    """An encrypted message; a text message gets an encrypted passive reply with the answer."""
    crypto = _crypto(request)
    _check_time(request, timestamp)
    envelope = parse_xml(await request.body())
    encrypted = envelope.findtext("Encrypt")
    if not encrypted:
        raise Rejected(400, "no Encrypt element in the message")
    crypto.verify(msg_signature, timestamp, nonce, encrypted)
    message = parse_xml(crypto.decrypt(encrypted))
    if message.findtext("MsgType") != "text" or not (message.findtext("Content") or "").strip():
        return Response(status_code=200)  # events, images…: acknowledged, not answered
    if not _seen(request).first_time(message.findtext("MsgId") or encrypted):
        return Response(status_code=200)  # WeCom's retry of a message already being answered
    answer = await run_in_threadpool(engine.ask, message.findtext("Content", "")[:500])
    content = reply_text(answer, request.app.state.runtime.settings.public_url, TEXT_LIMIT,
                         size=utf8_size)  # fmt: skip
    reply = reply_xml(message.findtext("FromUserName", ""), crypto.receive_id, content)
    return Response(encrypted_reply(crypto, reply, nonce), media_type="application/xml")


def _seen(request: Request) -> SeenIds:
    if not hasattr(request.app.state, "wecom_seen"):
        request.app.state.wecom_seen = SeenIds()
    return request.app.state.wecom_seen


def reply_xml(to_user: str, from_corp: str, content: str) -> str:
    root = ET.Element("xml")
    for tag, value in (("ToUserName", to_user), ("FromUserName", from_corp),
                       ("CreateTime", str(int(time.time()))), ("MsgType", "text"),
                       ("Content", content)):  # fmt: skip
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="unicode")


def encrypted_reply(crypto: WeComCrypto, message: str, nonce: str) -> str:
    """The passive reply envelope: Encrypt, MsgSignature, TimeStamp, Nonce."""
    timestamp = str(int(time.time()))
    encrypted = crypto.encrypt(message)
    root = ET.Element("xml")
    for tag, value in (("Encrypt", encrypted),
                       ("MsgSignature", crypto.signature(timestamp, nonce, encrypted)),
                       ("TimeStamp", timestamp), ("Nonce", nonce)):  # fmt: skip
        ET.SubElement(root, tag).text = value
    return ET.tostring(root, encoding="unicode")
