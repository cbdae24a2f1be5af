"""Login sessions, CSRF tokens and response headers for the review UI."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

SESSION_USER = "uid"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"

# Scripts only from our own static files (keyboard shortcuts), never inline; captured
# HTML is never rendered, only screenshots and escaped text, so a page's own <script>
# can never run in a reviewer's browser. No workers (a service worker registered from
# our origin would outlive the page and sit between the officer and the evidence), no
# plugins, no frames, no <base> rewriting, forms only back to us, never framed.
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "worker-src 'none'; object-src 'none'; frame-src 'none'; manifest-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Every evidence file: a document of its own origin that may load nothing and run
# nothing, whatever a browser takes it for (top-level images display all the same).
EVIDENCE_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
# Where a session starts or ends, the browser wipes this origin's storage: the UI keeps
# nothing there, so all it can hold is what a page once planted (a service worker that
# an older kuzet let in would otherwise keep answering for /evidence/). Cookies stay.
FRESH_START = frozenset({"/login", "/logout"})


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return str(token)


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    return bool(expected and submitted and hmac.compare_digest(str(expected), submitted))


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        if request.url.path in FRESH_START:
            response.headers["Clear-Site-Data"] = '"storage"'
        return response
