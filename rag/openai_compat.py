"""An OpenAI-compatible chat endpoint, so office tools and SDKs can use the assistant as a model.

The last user message is answered; ``content`` carries the answer plus numbered references, and a
``citations`` field carries the structured citations. ``stream: true`` sends
``chat.completion.chunk`` events and ends with ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from rag.deps import EngineDep, require_access
from rag.errors import BadQuestion
from rag.replies import pieces, reply_text

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_access)])
MODEL = "policyqa"
MAX_MESSAGES, MAX_PARTS = 256, 64  # a long conversation fits; a hostile list is refused early


class Part(BaseModel):
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | Annotated[list[Part], Field(max_length=MAX_PARTS)] | None = None


# Documents what ``last_user_text`` needs (otherwise 400): a user message with some text.
TEXT = {"type": "string", "pattern": r"\S"}
TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": TEXT},
}
USER_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {"anyOf": [TEXT, {"type": "array", "contains": TEXT_PART}]},
    },
}


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens… are accepted and ignored

    model: str = MODEL
    messages: list[Message] = Field(
        min_length=1, max_length=MAX_MESSAGES, json_schema_extra={"contains": USER_MESSAGE}
    )
    stream: StrictBool = False


@router.get("/models")
def models() -> dict[str, Any]:
    model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "policyqa"}
    return {"object": "list", "data": [model]}


EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}
COMPLETION = {
    "description": "`chat.completion` JSON, or with `stream: true` `chat.completion.chunk` "
    "server-sent events ending with `data: [DONE]`",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/event-stream": {"itemSchema": EVENT},  # OpenAPI 3.2: the schema of one event
    },
}


@router.post("/chat/completions", response_model=None, responses={200: COMPLETION})
def chat(body: ChatRequest, engine: EngineDep) -> dict[str, Any] | StreamingResponse:
    answer = engine.ask(last_user_text(body.messages))
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    content = reply_text(answer, engine.settings.public_url, limit=100_000)
    citations = answer.to_dict()["citations"]
    if body.stream:
        events = _chunks(completion_id, body.model, content, citations, answer.found)
        return StreamingResponse(events, media_type="text/event-stream")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": citations,
        "short_answer": answer.short_answer,
        "found": answer.found,
    }


def last_user_text(messages: list[Message]) -> str:
    """The text of the last user message that has some (trailing empty ones are skipped)."""
    for m in reversed(messages):
        if m.role == "user":
            if isinstance(m.content, list):
                text = "".join(p.text or "" for p in m.content if p.type == "text")
            else:
                text = m.content or ""
            if text.strip():
                return text
    raise BadQuestion(
        "no user message with text to answer: send messages=[{role: user, content: …}]"
    )


def _chunks(cid: str, model: str, content: str, citations: list, found: bool) -> Iterator[bytes]:
    created = int(time.time())

    def event(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return format_sse_event(data_str=json.dumps(chunk, ensure_ascii=False))

    yield event({"role": "assistant", "content": ""})
    for piece in pieces(content):
        yield event({"content": piece})
    yield event({}, "stop", citations=citations, found=found)
    yield format_sse_event(data_str="[DONE]")
