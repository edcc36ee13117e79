"""Security headers on every response: CSP, nosniff, no referrer, no framing.

Our pages load scripts and styles from ``/static`` only, so the policy is ``'self'``. Inline
``style="…"`` attributes (the document outline's indentation) are allowed; inline scripts are
not. The Swagger UI and ReDoc pages (``/docs``, ``/redoc``) run an inline start-up script,
inline styles, ``data:`` images and a ``blob:`` worker, so they get their own relaxed policy
(they show no user content). Checked by reading the pages and bundles, not in a browser.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# ReDoc compiles schema validators with ``new Function`` (ajv); Swagger UI does not.
REDOC_CSP = DOCS_CSP.replace("'unsafe-inline';", "'unsafe-inline' 'unsafe-eval';", 1)
POLICIES = {"/docs": DOCS_CSP, "/docs/oauth2-redirect": DOCS_CSP, "/redoc": REDOC_CSP}
COMMON = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}


def policy(path: str) -> str:
    """The Content-Security-Policy for a path.

    >>> policy("/docs") == DOCS_CSP, policy("/docs/003") == CSP, "eval" in policy("/redoc")
    (True, True, True)
    """
    return POLICIES.get(path, CSP)


class SecurityHeaders:
    """Adds the headers above to every HTTP response (an app's own values win)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = {**COMMON, b"content-security-policy": policy(scope["path"]).encode()}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
