"""钉钉 (DingTalk) enterprise robot, HTTP mode, at ``/integrations/dingtalk``.

Each callback carries ``timestamp`` (milliseconds) and ``sign`` headers:
sign = base64(HMAC-SHA256(key=AppSecret, message=timestamp + "\\n" + AppSecret)).
Requests more than an hour off (``RAG_MAX_CLOCK_SKEW``) or with a wrong sign are refused. The
answer goes back in the HTTP response as a markdown message. In group chats the robot answers
only when it is @-mentioned (the text arrives without the mention).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from rag.deps import EngineDep
from rag.integrations.common import Rejected, fresh, not_configured, reply_text, same

router = APIRouter(prefix="/integrations/dingtalk", tags=["integrations"])
MARKDOWN_LIMIT = 4000
GROUP = "2"  # conversationType: "1" one-to-one, "2" group


def sign(timestamp: str, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@router.post("")
async def receive(request: Request, engine: EngineDep) -> dict:
    settings = request.app.state.runtime.settings
    if not settings.dingtalk_app_secret:
        raise not_configured("钉钉", "RAG_DINGTALK_APP_SECRET")
    timestamp = request.headers.get("timestamp", "")
    if not timestamp.isdigit() or not fresh(int(timestamp) / 1000, settings.max_clock_skew):
        raise Rejected(401, "timestamp header is missing or more than the allowed skew off")
    expected = sign(timestamp, settings.dingtalk_app_secret)
    if not same(request.headers.get("sign", ""), expected):
        raise Rejected(403, "sign header does not match")
    try:
        message = json.loads(await request.body())
        text = message["text"]["content"] if message.get("msgtype") == "text" else ""
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise Rejected(400, f"malformed robot message: {e}") from e
    if not isinstance(text, str) or not text.strip():
        return {"msgtype": "empty"}
    if message.get("conversationType") == GROUP and not message.get("isInAtList"):
        return {"msgtype": "empty"}  # group chatter not addressed to the robot
    answer = await run_in_threadpool(engine.ask, text.strip()[:500])
    body = reply_text(answer, settings.public_url, MARKDOWN_LIMIT, markdown=True)
    title = ("已找到依据：" if answer.found else "未找到：") + text.strip()[:20]
    return {"msgtype": "markdown", "markdown": {"title": title, "text": body}}
