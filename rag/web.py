"""The chat page and the document viewer (Jinja2 templates, hand-written static JS/CSS).

Every HTML page has a JSON twin: the chat page talks to ``/api/ask/stream``, the viewer shows
what ``/api/docs/{id}`` returns. Jinja2 autoescaping covers every piece of corpus text; the chat
script inserts user and answer text with ``textContent`` only.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from rag.deps import (
    SESSION_COOKIE,
    Runtime,
    client_address,
    open_or_keyed,
    runtime_of,
)
from rag.errors import NoApiKey, NoSessionSecret, UnknownDocument
from rag.filters import kind_of
from rag.keys import SESSION_SECONDS
from rag.site import TEMPLATES
from rag.throttle import retry_after
from rag.types import PATH_SEP, ClauseTree

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)
EXAMPLES = [  # deliberately not taken from the evaluation sets
    "谁负责医保跨省结算？",
    "跨省通办由哪个部门负责？",
    "統計合作由哪個部門負責？",
    "南澳区安全生产检查发现了多少处隐患？",
]


def guarded_page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    """Render a page behind the page access rule: once API keys exist a visitor needs a
    session — handed out on the spot, or after ``RAG_PAGE_PASSWORD`` when one is set. Without
    keys the page is open only where the API is (loopback or ``allow_open``)."""
    runtime = runtime_of(request)
    try:
        if not open_or_keyed(request):
            return templates.TemplateResponse(request, name, context, status_code=status)
        password = runtime.settings.page_password
        if runtime.sessions.valid(request.cookies.get(SESSION_COOKIE), password):
            return templates.TemplateResponse(request, name, context, status_code=status)
        if password:
            query = "?" + request.url.query if request.url.query else ""
            return RedirectResponse(f"/login?next={quote(request.url.path + query)}", 303)
        response = templates.TemplateResponse(request, name, context, status_code=status)
        _start_session(response, runtime)
        return response
    except (NoApiKey, NoSessionSecret) as e:  # the administrator has to act: say what to do
        context = {"title": "服务暂不可用", "message": str(e)}
        return templates.TemplateResponse(request, "message.html", context, status_code=e.status)


def _start_session(response: Response, runtime: Runtime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        runtime.sessions.issue(runtime.settings.page_password),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.public_url.startswith("https://"),
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"next": next, "error": ""})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the page password; failures are limited per address and in all (429 beyond),
    and a locked-out address is refused before its password is even compared."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    password = form.get("password", [""])[0]
    target = form.get("next", ["/"])[0]
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    runtime = runtime_of(request)
    address = client_address(request)
    wait = max(runtime.login_by_address.wait(address), runtime.login_in_all.wait(""))
    if wait > 0:
        seconds = retry_after(wait)
        context = {"next": target, "error": f"尝试次数过多，请 {seconds} 秒后再试。"}
        return templates.TemplateResponse(
            request, "login.html", context, status_code=429, headers={"Retry-After": seconds}
        )
    expected = runtime.settings.page_password
    if not expected or not same_secret(password, expected):
        if expected:
            runtime.login_by_address.take(address)
            runtime.login_in_all.take("")
        context = {"next": target, "error": "密码不正确。"}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    try:
        _start_session(response, runtime)
    except NoSessionSecret as e:
        context = {"title": "服务暂不可用", "message": str(e)}
        return templates.TemplateResponse(request, "message.html", context, status_code=e.status)
    return response


def same_secret(given: str, expected: str) -> bool:
    """Compare in constant time, whatever the lengths (digests are always 32 bytes).

    >>> same_secret("政策", "政策"), same_secret("政", "政策")
    (True, False)
    """
    a, b = (hashlib.sha256(s.encode()).digest() for s in (given, expected))
    return hmac.compare_digest(a, b)


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request) -> Response:
    engine = runtime_of(request).engine
    facets = facet_values(list(engine.index.trees.values())) if engine else None
    return guarded_page(request, "chat.html", {"examples": EXAMPLES, "facets": facets})


def facet_values(trees: list[ClauseTree]) -> dict[str, list]:
    """The choices of the chat page's filter box: issuers, kinds and documents in the index."""
    docs = sorted((t.doc for t in trees), key=lambda d: d.title)
    return {
        "issuers": sorted({d.issuer for d in docs if d.issuer}),
        "kinds": sorted({k for d in docs if (k := kind_of(d.title))}),
        "documents": docs,
    }


@router.get("/documents", response_class=HTMLResponse)
def documents_page(request: Request) -> Response:
    engine = runtime_of(request).engine
    if engine is None:
        return _unavailable(request)
    return guarded_page(request, "documents.html", {"trees": list(engine.index.trees.values())})


@router.get("/docs/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request, doc_id: str, start: int | None = None, end: int | None = None
) -> Response:
    """A document with the span ``start``..``end`` highlighted and its clause as breadcrumbs."""
    engine = runtime_of(request).engine
    if engine is None:
        return _unavailable(request)
    try:
        tree = engine.index.tree(doc_id)
    except UnknownDocument as e:
        return _message(request, "找不到文件", str(e), e.status)
    text = tree.doc.text
    if start is not None:
        start = max(0, min(start, len(text)))
        end = max(start, min(end if end is not None else start, len(text)))
    return guarded_page(
        request,
        "document.html",
        {
            "tree": tree,
            "paragraphs": _with_pages(tree, paragraphs(text, start, end)),
            "page": tree.doc.page_at(start) if start is not None else None,
            "crumbs": breadcrumbs(tree, start),
            "outline": [(c, len(c.path)) for c in tree.clauses],
            "sep": PATH_SEP,
        },
    )


@router.get("/docs/{doc_id}/file")
def original_file(request: Request, doc_id: str) -> Response:
    """The file a document was read from, as uploaded or put in the corpus folder — only while
    it is still the very file that was indexed (same sha256), and only from inside the corpus."""
    runtime = runtime_of(request)
    if runtime.engine is None:
        return _unavailable(request)
    gate = guarded_page(request, "message.html", {"title": "", "message": ""})
    if gate.status_code != 200:  # a login redirect: the viewer's own access rule applies
        return gate
    try:
        doc = runtime.engine.index.tree(doc_id).doc
    except UnknownDocument as e:
        return _message(request, "找不到文件", str(e), e.status)
    corpus = runtime.settings.corpus_dir.resolve()
    path = (corpus / doc.source).resolve()
    if not path.is_relative_to(corpus) or not path.is_file() or _sha256(path) != doc.sha256:
        return _message(
            request,
            "原文件已更改",
            f"{doc.source} 已不在文件库中，或在收录后被修改；请重新收录（rag ingest）后再下载。",
            404,
        )
    response = FileResponse(path, filename=path.name)
    for name, value in gate.headers.items():  # a freshly issued page session, if any
        if name.lower() == "set-cookie":
            response.headers.append(name, value)
    return response


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _message(request: Request, title: str, message: str, status: int) -> Response:
    return guarded_page(request, "message.html", {"title": title, "message": message}, status)


def _with_pages(tree: ClauseTree, paras: list) -> list[tuple[int, list, int | None]]:
    """Each paragraph with the page it starts, when a new page starts there (paged sources)."""
    out, seen = [], None
    for offset, pieces in paras:
        page = tree.doc.page_at(offset)
        out.append((offset, pieces, page if page != seen and tree.doc.pages else None))
        seen = page
    return out


def _unavailable(request: Request) -> Response:
    message = runtime_of(request).error or "索引和模型正在加载，请稍候刷新。"
    return guarded_page(request, "message.html", {"title": "服务准备中", "message": message}, 503)


def paragraphs(
    text: str, start: int | None, end: int | None
) -> list[tuple[int, list[tuple[str, bool]]]]:
    """Each line of the display text as (offset, [(piece, highlighted)]).

    >>> paragraphs("甲乙\\n丙丁", 1, 4)
    [(0, [('甲', False), ('乙', True)]), (3, [('丙', True), ('丁', False)])]
    """
    out = []
    offset = 0
    for line in text.split("\n"):
        line_end = offset + len(line)
        pieces = [(line, False)]
        if start is not None and end is not None and start < line_end and offset < end:
            a, b = max(start, offset) - offset, min(end, line_end) - offset
            pieces = [
                (p, hl) for p, hl in ((line[:a], False), (line[a:b], True), (line[b:], False)) if p
            ]
        out.append((offset, pieces))
        offset = line_end + 1
    return out


def breadcrumbs(tree: ClauseTree, offset: int | None) -> list:
    """The clause containing ``offset`` and its ancestors, outermost first."""
    clause = tree.clause_at(offset) if offset is not None else None
    chain = []
    while clause is not None:
        chain.append(clause)
        clause = tree.clauses[clause.parent] if clause.parent is not None else None
    return chain[::-1]
