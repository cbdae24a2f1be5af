"""The officer review UI (server-rendered; one small script of our own for shortcuts).

This module builds the app (middleware, login, health and metrics); the routes for
detections are in :mod:`review.detection_routes`, those for notices in
:mod:`review.notice_routes`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from starlette.middleware.sessions import SessionMiddleware

from evidence.store import LocalArtifactStore
from kuzet import audit
from kuzet.config import LANGUAGES, Settings
from kuzet.db import Database
from kuzet.i18n import t
from kuzet.users import authenticate
from review import auth
from review.auth import DB, LANG_COOKIE, Anyone, LoginRequired, lang_of
from review.detection_routes import add_detection_routes
from review.notice_routes import add_notice_routes
from review.pages import CsrfField, Pages
from review.proxy import TrustedProxies, parse_networks
from review.security import SecurityHeaders
from scheduler.ops import CachedMetrics

HERE = Path(__file__).resolve().parent
SESSION_MAX_AGE = 8 * 3600
logger = logging.getLogger(__name__)


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The review app. Raises :class:`kuzet.config.ConfigError` for a weak secret key
    and ValueError for a KUZET_TRUSTED_PROXIES entry that is not an address."""
    secret = settings.secret_key()
    parse_networks(settings.trusted_proxies)  # refused now, not at the first request
    name_key = hmac.new(secret.encode(), b"kuzet login name", hashlib.sha256).digest()
    db = db or Database.from_settings(settings)
    store = LocalArtifactStore(settings.evidence_dir)
    app = FastAPI(title="kuzet review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="kuzet_session",
        max_age=SESSION_MAX_AGE,
        same_site="strict",
    )
    # Outermost: every layer inside sees the real client and scheme.
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.settings, app.state.db = settings, db
    pages = Pages(settings, db, store, HERE / "templates")
    render, check_csrf = pages.render, pages.check_csrf

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            if request.query_params.get("lang") in LANGUAGES:
                response.set_cookie(
                    LANG_COOKIE,
                    request.query_params["lang"],
                    max_age=365 * 86400,
                    samesite="strict",
                )
            return response
        return Response("login required", status_code=401)

    @app.get("/healthz")
    def healthz() -> Response:
        """Up, and the database answers. The reason for a failure goes to the log only:
        an error text can name hosts, users or paths."""
        try:
            with db.session() as s:
                s.execute(select(1))
        except Exception:  # reported as a status: a probe wants a code, the log the reason
            logger.exception("health check: the database does not answer")
            return Response("database unavailable\n", status_code=503, media_type="text/plain")
        return Response('{"status":"ok"}', media_type="application/json")

    metrics = CachedMetrics(db)

    @app.get("/metrics")
    def prometheus(request: Request) -> Response:
        """Prometheus text format: counts only, no page content or names. Callers on
        this machine need nothing; others the bearer token KUZET_METRICS_TOKEN."""
        verdict = auth.metrics_access(request, settings.metrics_token)
        if verdict != 200:
            headers = {"WWW-Authenticate": "Bearer"} if verdict == 401 else None
            return Response("forbidden\n", status_code=verdict, headers=headers)
        return Response(metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # ------------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return render(request, "login.html", next=next, error=None)

    @app.post("/login")
    def login(
        request: Request,
        session: DB,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf_token_: CsrfField = None,
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        check_csrf(request, csrf_token_)
        lang = lang_of(request)
        ip = auth.client_ip(request)
        # The attempt is counted (and committed) before the password is looked at.
        with db.session() as counting:
            kind, subject = auth.login_subject(counting, name_key, username)
            slots = [(auth.ACCOUNT, subject), (auth.ADDRESS, ip)]
            allowed = auth.reserve_login(counting, slots)
        if not allowed:
            logger.warning("sign-in refused: too many attempts (%(kind)s %(id)s)", {
                "kind": kind, "id": subject[:12]})  # fmt: skip
            return render(
                request, "login.html", status_code=429, next=next, error=t("login.blocked", lang)
            )
        user = authenticate(session, username, password)
        if user is None:
            audit.record(
                session,
                action="auth.login_failed",
                object_type=kind,
                object_id=subject,
                actor="anonymous",
                details={"ip": ip},
            )
            return render(
                request, "login.html", status_code=401, next=next, error=t("login.failed", lang)
            )
        auth.release_login(session, slots)
        # Nothing from before the sign-in carries over: not an earlier session token, not
        # the pre-login CSRF state (a new one is made on the next page).
        auth.end_session(session, request.cookies.get(auth.COOKIE))
        request.session.clear()
        token = auth.start_session(session, user, ip)
        audit.record(
            session,
            action="auth.login",
            object_type="user",
            object_id=user.id,
            user=user,
            details={"ip": ip},
        )
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            auth.COOKIE,
            token,
            max_age=int(auth.MAX_AGE.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/logout")
    def logout(
        request: Request, session: DB, user: Anyone, csrf_token_: CsrfField = None
    ) -> Response:
        check_csrf(request, csrf_token_)
        auth.end_session(session, request.cookies.get(auth.COOKIE))
        audit.record(
            session, action="auth.logout", object_type="user", object_id=user.id, user=user
        )
        request.session.clear()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.COOKIE)
        return response

    add_detection_routes(app, pages)
    add_notice_routes(app, pages)

    return app
