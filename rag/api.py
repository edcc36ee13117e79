"""JSON API: ask, search, documents, health. Thin: every route calls the shared ``Engine``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.sse import format_sse_event
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from rag.deps import EngineDep, error, require_access, require_access_or_page
from rag.filters import Filters
from rag.question import MAX_QUESTION_CHARS
from rag.replies import pieces
from rag.types import Answer

MAX_DOC_IDS, MAX_DOC_ID_CHARS = 50, 200


class ErrorBody(BaseModel):
    """The one error shape of the HTTP API."""

    error: str = Field(description="what went wrong, as a name", examples=["BadQuestion"])
    detail: str = Field(description="what to do about it", examples=["the question is empty"])


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these error statuses, all with ``ErrorBody``."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


ERROR_TEXT = {
    400: "Bad input: empty or over-long question, malformed JSON",
    401: "API keys exist and the request has no valid `Authorization: Bearer` key",
    403: "A chat tool's signature or token does not match",
    404: "Unknown document, route or unconfigured chat tool",
    409: "A conflict: another file has that document id, or an ingest is already running",
    408: "The request body did not arrive in time",
    413: "The request body is over the size limit (`RAG_MAX_BODY_BYTES`)",
    422: "A field has the wrong type or is out of range",
    503: "Loading, failed to load, or busy: see `Retry-After`",
}
ROUTE_ERRORS = errors(400, 401, 404, 408, 413, 422, 503)
health = APIRouter(responses=errors(503))
router = APIRouter(dependencies=[Depends(require_access)], responses=ROUTE_ERRORS)
page_router = APIRouter(
    dependencies=[Depends(require_access_or_page)],  # what the page calls
    responses=ROUTE_ERRORS,
)


def integral(value: Any) -> Any:
    """JSON has one number type: accept 5.0 as 5, leave 1.5 (and everything else) to be
    rejected by the strict int check.

    >>> integral(5.0), integral(1.5), integral("5")
    (5, 1.5, '5')
    """
    return int(value) if isinstance(value, float) and value.is_integer() else value


# What ``clean_question`` accepts, documented (it answers 400 BadQuestion, not 422, otherwise).
QUESTION_SCHEMA: dict[str, Any] = {
    "minLength": 1,
    "maxLength": MAX_QUESTION_CHARS,
    "pattern": r"\S",
}
DocId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_DOC_ID_CHARS)]


DATE = r"^\d{4}-\d{2}-\d{2}$"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(
        description=f"≤{MAX_QUESTION_CHARS} characters, simplified or traditional",
        examples=["谁负责医保跨省结算？"],
        json_schema_extra=QUESTION_SCHEMA,
    )
    top_k: Annotated[int | None, BeforeValidator(integral)] = Field(
        None, ge=1, le=20, description="passages to read (default 5)"
    )
    doc_ids: list[DocId] | None = Field(
        None,
        max_length=MAX_DOC_IDS,
        description=f"only these documents (ids or prefixes; "
        f"≤{MAX_DOC_IDS}, each ≤{MAX_DOC_ID_CHARS} characters)",
    )
    issuer: str | None = Field(None, max_length=100, description="only 发文机关 containing this")
    date_from: str | None = Field(
        None, pattern=DATE, description="only documents dated on or after this day (YYYY-MM-DD)"
    )
    date_to: str | None = Field(None, pattern=DATE, description="… on or before this day")
    kinds: list[Annotated[str, StringConstraints(max_length=20)]] | None = Field(
        None, max_length=20, description="only these kinds: 通知, 办法, 意见, 方案, 条例…"
    )

    def filters(self) -> Filters:
        return Filters(
            self.issuer or "",
            self.date_from or "",
            self.date_to or "",
            tuple(self.kinds or ()),
            tuple(self.doc_ids or ()),
        )


class EventStream(StreamingResponse):
    """Server-sent events (so the OpenAPI document says ``text/event-stream``)."""

    media_type = "text/event-stream"


@health.get("/healthz", tags=["health"])
async def healthz(request: Request) -> JSONResponse:
    """200 once the index and model are loaded; 503 while loading or if loading failed.

    Runs on the event loop (no thread, no engine work), so it answers at once under load."""
    runtime = request.app.state.runtime
    if runtime.engine is not None:
        manifest = runtime.engine.index.manifest
        return JSONResponse(
            {
                "status": "ready",
                "documents": manifest["counts"]["documents"],
                "chunks": manifest["counts"]["chunks"],
                "ready_after_s": round(runtime.ready_after or 0, 2),
            }
        )
    if runtime.error:
        return error(503, "LoadFailed", runtime.error)
    return error(503, "Loading", "the index and model are still loading")


# What FastAPI would say for ``-> dict[str, Any]``; the route returns its JSON itself
ANSWER_JSON = {
    "description": "Successful Response",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


@router.post("/api/ask", tags=["answers"], response_model=None, responses={200: ANSWER_JSON})
def ask(body: AskRequest, engine: EngineDep) -> JSONResponse:
    """Answer a question: ``{question, answer, found, intent, citations, latency_ms, mode}``.

    The JSON is made here, in the worker thread: returning the dict would send it back to the
    thread pool once more to be validated against ``dict[str, Any]`` (a second wait for a
    thread under load, for a check that cannot fail)."""
    answer = engine.ask(body.question, top_k=body.top_k, filters=body.filters())
    return JSONResponse(answer.to_dict())


SSE = {
    "description": "`event: delta` events with `{text}`, then one `event: answer` with the "
    "answer contract",
    "content": {
        "text/event-stream": {
            "itemSchema": {  # OpenAPI 3.2: the schema of one event
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "enum": ["delta", "answer"]},
                    "data": {"type": "string", "contentMediaType": "application/json"},
                },
            }
        }
    },
}


@page_router.post(
    "/api/ask/stream", tags=["answers"], response_class=EventStream, responses={200: SSE}
)
def ask_stream(body: AskRequest, engine: EngineDep) -> StreamingResponse:
    """The same answer as server-sent events: ``delta`` events with text, then one ``answer``
    event with the full JSON contract."""
    answer = engine.ask(body.question, top_k=body.top_k, filters=body.filters())
    return EventStream(_events(answer))


def _events(answer: Answer) -> Iterator[bytes]:
    """Framed by FastAPI's own SSE encoder (one JSON line per ``data:``)."""
    for piece in pieces(answer.answer):
        yield format_sse_event(event="delta", data_str=_json({"text": piece}))
    yield format_sse_event(event="answer", data_str=_json(answer.to_dict()))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@router.get("/api/search", tags=["answers"])
def search(
    engine: EngineDep,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUESTION_CHARS,
            description="the question",
            json_schema_extra=QUESTION_SCHEMA,
        ),
    ],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    issuer: Annotated[str, Query(max_length=100, description="发文机关 contains")] = "",
    date_from: Annotated[str | None, Query(pattern=DATE, description="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, Query(pattern=DATE, description="YYYY-MM-DD")] = None,
    # plain arrays (no “or null”): a query string cannot say null, so a nullable array only
    # invites fuzzers to send “negative” values that arrive as ordinary strings
    kind: Annotated[list[str], Query(max_length=20, description="通知, 办法…")] = [],
    doc: Annotated[list[str], Query(max_length=50, description="document ids")] = [],
) -> list[dict[str, Any]]:
    """Retrieved passages, best first (hybrid BM25 + dense), optionally filtered."""
    filters = Filters(issuer, date_from or "", date_to or "", tuple(kind), tuple(doc))
    hits = engine.search(q, k=k, filters=filters)
    return [
        {
            "rank": h.rank,
            "score": h.score,
            "bm25_rank": h.bm25_rank,
            "dense_rank": h.dense_rank,
            **h.chunk.to_dict(),
        }
        for h in hits
    ]


@router.get("/api/docs", tags=["documents"])
def documents(engine: EngineDep) -> list[dict[str, Any]]:
    """Every indexed document: id, title, issuer, date, clause count."""
    return [
        {
            "id": t.doc.doc_id,
            "title": t.doc.title,
            "issuer": t.doc.issuer,
            "date": t.doc.date,
            "clause_count": len(t.clauses),
            "source": t.doc.source,
        }
        for t in engine.index.trees.values()
    ]


@router.get("/api/docs/{doc_id}", tags=["documents"])
def document(doc_id: str, engine: EngineDep) -> dict[str, Any]:
    """A document's display text, metadata, clause outline (with spans) and annotations."""
    tree = engine.index.tree(doc_id)
    d = tree.to_dict()
    return {
        "id": tree.doc.doc_id,
        "title": tree.doc.title,
        "meta": tree.doc.meta,
        "text": tree.doc.text,
        "clauses": [{**c, "path_text": " › ".join(c["path"])} for c in d["clauses"]],
        "responsibilities": d["responsibilities"],
    }
