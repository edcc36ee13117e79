"""钉钉 (DingTalk) enterprise robot, HTTP mode, at ``/integrations/dingtalk``.

Each callback carries ``timestamp`` (milliseconds) and ``sign`` headers:
sign = base64(HMAC-SHA256(key=AppSecret, message=timestamp + "\\n" + AppSecret)).
Requests more than an hour off (``RAG_MAX_CLOCK_SKEW``) or with a wrong sign are refused. The
sign covers only the timestamp, not the body, so each (timestamp, sign) pair is accepted once:
a captured request cannot be sent again, with the same body or another one. A message DingTalk
delivers again under a new pair (same ``msgId``) is acknowledged, not answered twice. The answer
goes back in the HTTP response as a markdown message. In group chats the robot answers only when
it is @-mentioned (the text arrives without the mention).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from rag.deps import EngineDep
from rag.engine import Engine
from rag.errors import BadCallback, Replayed, SignatureMismatch
from rag.integrations.common import (
    SeenIds,
    ask_or_clarify,
    check_time,
    load_json,
    not_configured,
    nothing_to_ask,
    question_text,
    read_body,
    same,
    seen_ids,
)
from rag.replies import reply_text
from rag.settings import Settings

router = APIRouter(prefix="/integrations/dingtalk", tags=["integrations"])
MARKDOWN_LIMIT = 4000
GROUP = "2"  # conversationType: "1" one-to-one, "2" group
EMPTY = {"msgtype": "empty"}


def sign(timestamp: str, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@router.post("")
async def receive(request: Request, engine: EngineDep) -> dict:
    """Headers are checked first; the body is read bounded and handled off the event loop."""
    settings: Settings = request.app.state.runtime.settings
    if not settings.dingtalk_app_secret:
        raise not_configured("钉钉", "RAG_DINGTALK_APP_SECRET")
    timestamp = request.headers.get("timestamp", "")
    check_time(timestamp, settings.max_clock_skew, "timestamp header", millis=True)
    given = request.headers.get("sign", "")
    if not same(given, sign(timestamp, settings.dingtalk_app_secret)):
        raise SignatureMismatch("sign header does not match")
    raw = await read_body(request)
    return await run_in_threadpool(
        answer, raw, f"{timestamp}:{given}", seen_ids(request), engine, settings
    )


def answer(raw: bytes, signed: str, seen: SeenIds, engine: Engine, settings: Settings) -> dict:
    """The reply to an authenticated callback (``signed``: its timestamp and sign)."""
    if not seen.first_time(f"dingtalk:sign:{signed}"):
        raise Replayed("this timestamp and sign were already used: replays are refused")
    message = load_json(raw, "robot message")
    try:
        text = message["text"]["content"] if message.get("msgtype") == "text" else ""
    except (KeyError, TypeError, AttributeError) as e:
        raise BadCallback(f"malformed robot message: missing or wrong {e}") from e
    msg_id = message.get("msgId")
    if msg_id is not None and not isinstance(msg_id, str):
        raise BadCallback("malformed robot message: msgId is not a string")
    question = question_text(text)
    if nothing_to_ask(text):
        return EMPTY
    if message.get("conversationType") == GROUP and message.get("isInAtList") is not True:
        return EMPTY  # group chatter not addressed to the robot
    if msg_id and not seen.first_time(f"dingtalk:msg:{msg_id}"):
        return EMPTY  # DingTalk's retry of a message already answered
    result = ask_or_clarify(engine, question, text)
    body = reply_text(result, settings.public_url, MARKDOWN_LIMIT, markdown=True)
    title = ("已找到依据：" if result.found else "未找到：") + question[:20]
    return {"msgtype": "markdown", "markdown": {"title": title, "text": body}}
