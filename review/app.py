"""The officer review UI (server-rendered; one small script of our own for shortcuts).

This module builds the app (middleware, login, health and metrics); the routes for
detections are in :mod:`review.detection_routes`, those for notices in
:mod:`review.notice_routes`.
"""

from __future__ import annotations

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
from review.security import SecurityHeaders

HERE = Path(__file__).resolve().parent
SESSION_MAX_AGE = 8 * 3600


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    db = db or Database.from_settings(settings)
    store = LocalArtifactStore(settings.evidence_dir)
    app = FastAPI(title="kuzet review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key(),
        session_cookie="kuzet_session",
        max_age=SESSION_MAX_AGE,
        same_site="strict",
    )
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
        """Up, and the database answers."""
        try:
            with db.session() as s:
                s.execute(select(1))
        except Exception as exc:  # reported, not raised: a probe wants a status code
            return Response(f"database: {exc}", status_code=503, media_type="text/plain")
        return Response('{"status":"ok"}', media_type="application/json")

    @app.get("/metrics")
    def prometheus() -> Response:
        """Prometheus text format: counts only, no page content or names."""
        from scheduler.ops import metrics

        return Response(metrics(db), media_type="text/plain; version=0.0.4; charset=utf-8")

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
        if auth.login_blocked(session, username, ip):
            return render(
                request, "login.html", status_code=429, next=next, error=t("login.blocked", lang)
            )
        user = authenticate(session, username, password)
        if user is None:
            audit.record(
                session,
                action="auth.login_failed",
                object_type="user",
                object_id=username[:100],
                actor="anonymous",
                details={"ip": ip},
            )
            return render(
                request, "login.html", status_code=401, next=next, error=t("login.failed", lang)
            )
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
