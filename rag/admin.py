"""Library management over HTTP: the /admin page and its JSON twin.

| route | what |
| --- | --- |
| ``GET /admin`` | the page: upload (several files, drag and drop), list, delete, re-ingest |
| ``GET /api/library`` | documents (发文机关, 文号, date, format, chunks, warnings), ingest status |
| ``POST /api/docs`` | multipart upload of one or more files → 202 and a background ingest |
| ``DELETE /api/docs/{id}`` | remove a document (its file goes to the trash) → 202 |
| ``GET/POST /api/ingest`` | the background ingest's status / start one |

Every JSON route needs an admin API key (``rag keys create --admin``) or, when a page password is
set, the session that password gave. While no API key exists at all the server is open (loopback
by default), and so is this.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from rag.deps import (
    SESSION_COOKIE,
    EngineDep,
    open_or_keyed,
    runtime_of,
    same_origin,
)
from rag.errors import BadUpload, Forbidden, Unauthorized, UnknownDocument, UploadTooLarge
from rag.filters import kind_of
from rag.library import Library
from rag.readers import SUFFIXES


def require_admin(request: Request) -> None:
    """An admin key, or the page password's session from this server's own page."""
    runtime = runtime_of(request)
    if not open_or_keyed(request):  # no key yet: open on loopback (or --allow-open) only
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = runtime.keys.check(token.strip()) if scheme.lower() == "bearer" else None
    if key is not None and key.admin:
        return
    if key is not None:
        raise Forbidden(
            "this API key may not manage the library: an administrator creates an "
            "admin key with `rag keys create --admin`"
        )
    password = runtime.settings.page_password
    cookie = request.cookies.get(SESSION_COOKIE)
    if (
        password
        and runtime.sessions.valid(cookie, password)
        and same_origin(request, runtime.settings.public_url)
    ):
        return
    raise Unauthorized(
        "managing the library needs an admin key (Authorization: Bearer <key>, "
        "`rag keys create --admin`) or the page password"
    )


page = APIRouter(include_in_schema=False)
router = APIRouter(tags=["library"], dependencies=[Depends(require_admin)])


def library(request: Request) -> Library:
    state = request.app.state
    if not hasattr(state, "library"):
        runtime = runtime_of(request)
        state.library = Library(runtime, runtime.settings.max_upload_bytes)
    return state.library


LibraryDep = Annotated[Library, Depends(library)]


@page.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    """The page itself holds no data: everything it shows comes from the guarded JSON routes."""
    from rag.web import templates

    accept = sorted(s for s, f in SUFFIXES.items() if f in ("text", "html", "pdf", "docx"))
    context = {
        "accept": ",".join(accept),
        "max_mb": runtime_of(request).settings.max_upload_bytes // 1_000_000,
    }
    return templates.TemplateResponse(request, "admin.html", context)


@router.get("/api/library")
def list_library(engine: EngineDep, lib: LibraryDep) -> dict[str, Any]:
    """Every indexed document with what a maintainer checks, files skipped, ingest status."""
    chunks = Counter(c.doc_id for c in engine.index.chunks)
    docs = [
        {
            "id": t.doc.doc_id,
            "title": t.doc.title,
            "issuer": t.doc.issuer,
            "number": t.doc.number,
            "date": t.doc.date,
            "kind": kind_of(t.doc.title),
            "format": SUFFIXES.get(Path(t.doc.source).suffix.lower(), ""),
            "source": t.doc.source,
            "chunks": chunks[t.doc.doc_id],
            "warnings": [t.doc.meta["说明"]] if "说明" in t.doc.meta else [],
        }
        for t in engine.index.trees.values()
    ]
    return {
        "documents": docs,
        "skipped": engine.index.manifest.get("skipped", []),
        "ingest": lib.status.to_dict(),
    }


@router.post("/api/docs", status_code=202)
async def upload(
    lib: LibraryDep,
    files: Annotated[list[UploadFile], File(description="document files", min_length=1)],
) -> dict[str, Any]:
    """Add (or replace) documents; all files are checked before any is written."""
    if len(files) > 50:
        raise BadUpload("at most 50 files per upload")
    loaded = []
    for f in files:
        raw = await f.read(lib.max_bytes + 1)
        if len(raw) > lib.max_bytes:
            raise UploadTooLarge(
                f"{f.filename} is larger than {lib.max_bytes:,} bytes (RAG_MAX_UPLOAD_BYTES)"
            )
        loaded.append((f.filename or "", raw))
    saved = await run_in_threadpool(lib.add, loaded)
    return {"saved": saved, "ingest": lib.status.to_dict()}


@router.delete("/api/docs/{doc_id}", status_code=202)
def delete(doc_id: str, engine: EngineDep, lib: LibraryDep) -> dict[str, Any]:
    """Remove a document from the library (its file is kept in the trash). Only the exact id
    counts here, never a prefix."""
    if doc_id not in engine.index.trees:
        raise UnknownDocument(f"no document with the id {doc_id!r}; GET /api/library lists them")
    doc = engine.index.trees[doc_id].doc
    lib.remove(doc.source)
    return {"deleted": doc.doc_id, "ingest": lib.status.to_dict()}


@router.get("/api/ingest")
def ingest_status(lib: LibraryDep) -> dict[str, Any]:
    return lib.status.to_dict()


@router.post("/api/ingest", status_code=202)
def start_ingest(lib: LibraryDep) -> JSONResponse:
    """Re-read the library folder (e.g. after files were copied in by hand)."""
    return JSONResponse(lib.reingest().to_dict(), status_code=202)
