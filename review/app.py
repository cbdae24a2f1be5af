"""The officer review UI (server-rendered; one small script of our own for shortcuts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload
from starlette.middleware.sessions import SessionMiddleware

from evidence.store import LocalArtifactStore
from kuzet import audit
from kuzet.config import LANGUAGES, Settings
from kuzet.db import Database
from kuzet.i18n import localized, t
from kuzet.models import (
    Artifact,
    Capture,
    Detection,
    DetectionStatus,
    Notice,
    NoticeFact,
    Page,
    Role,
    Source,
    User,
)
from kuzet.users import authenticate
from notices import drafts, form1
from notices.builder import build_drafts
from notices.export import ExportError, render_notice
from notices.signing import SigningError, mark_sent, sign_notice
from review import auth
from review.auth import DB, LANG_COOKIE, LoginRequired, lang_of
from review.decisions import DecisionError, decide
from review.security import (
    CSRF_FIELD,
    SecurityHeaders,
    csrf_token,
    csrf_valid,
)
from rules.schema import SEVERITY_ORDER

HERE = Path(__file__).resolve().parent
# Shown blurred until the reviewer chooses to look.
GRAPHIC_TYPES = frozenset({"pornography", "cruelty_violence", "suicide_promotion"})
# Severity first, then the rule's confidence, then the match score, oldest first.
PRIORITY = (
    case(
        *((Detection.severity == name, rank) for name, rank in SEVERITY_ORDER.items()), else_=0
    ).desc(),
    Detection.confidence.desc(),
    Detection.score.desc(),
    Detection.id,
)
OPEN = (DetectionStatus.PENDING, DetectionStatus.NEEDS_INFO)


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, as given in the URL (kept as strings to refill the form)."""

    status: str = "open"
    violation_type: str = ""
    source: str = ""
    severity: str = ""
    since: str = ""
    until: str = ""

    def apply(self, query: Any) -> Any:
        if self.status == "open":
            query = query.where(Detection.status.in_(OPEN))
        elif self.status in {s.value for s in DetectionStatus}:
            query = query.where(Detection.status == DetectionStatus(self.status))
        if self.violation_type:
            query = query.where(Detection.violation_type == self.violation_type)
        if self.severity:
            query = query.where(Detection.severity == self.severity)
        if self.source:
            query = query.where(
                Detection.page_id.in_(
                    select(Page.id).join(Source).where(Source.name == self.source)
                )
            )
        for value, after in ((self.since, True), (self.until, False)):
            try:
                day = date.fromisoformat(value) if value else None
            except ValueError:
                day = None  # a half-typed date filters nothing rather than failing
            if day is not None:
                at = datetime.combine(
                    day + (timedelta() if after else timedelta(days=1)), time(), UTC
                )
                query = query.where(
                    Detection.created_at >= at if after else Detection.created_at < at
                )
        return query

    def query_string(self) -> str:
        return urlencode({k: v for k, v in asdict(self).items() if v})


SESSION_MAX_AGE = 8 * 3600
# Evidence files downloaded as they were stored, with the extension their format has.
_DOWNLOADS = {
    "wacz": ".wacz",
    "warc": ".warc.gz",
    "manifest": ".manifest.json",
    "timestamp": ".tsr",
    "pdf": ".pdf",
}


Reader = Annotated[User, Depends(auth.Allow(auth.READERS))]
Reviewer = Annotated[User, Depends(auth.Allow(auth.REVIEWERS))]
Signer = Annotated[User, Depends(auth.Allow(auth.SIGNERS))]
Anyone = Annotated[User, Depends(auth.Allow(auth.EVERYONE))]
CsrfField = Annotated[str | None, Form(alias=CSRF_FIELD)]


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
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(t=t, localized=localized, languages=LANGUAGES)
    app.state.settings, app.state.db = settings, db

    def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        lang = lang_of(request)
        user = ctx.get("user")
        if user is not None and user.role in (Role.HEAD, Role.ADMIN):
            with db.session() as s:  # Rule 5: Form 1 renewed at least every half year
                ctx["form1_due"] = form1.renewal_due(s)
        response = templates.TemplateResponse(
            request,
            name,
            {"lang": lang, "csrf": csrf_token(request), "csrf_field": CSRF_FIELD, **ctx},
            status_code=status_code,
        )
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
        return response

    def check_csrf(request: Request, token: str | None) -> None:
        if not csrf_valid(request, token):
            raise HTTPException(status_code=403, detail=t("error.csrf", lang_of(request)))

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

    # ------------------------------------------------------------------ queue

    @app.get("/", response_class=HTMLResponse)
    def queue(
        request: Request,
        session: DB,
        user: Reader,
        status: str = "open",
        violation_type: str = "",
        source: str = "",
        severity: str = "",
        since: str = "",
        until: str = "",
    ) -> HTMLResponse:
        filters = QueueFilters(status, violation_type, source, severity, since, until)
        detections = session.scalars(
            filters.apply(select(Detection))
            .options(
                selectinload(Detection.page).selectinload(Page.source),
                selectinload(Detection.capture).selectinload(Capture.artifacts),
            )
            .order_by(*PRIORITY)
            .limit(500)
        ).all()
        # One title per type, from its newest detection (JSON has no max() on PostgreSQL).
        newest = select(func.max(Detection.id)).group_by(Detection.violation_type)
        types = session.execute(
            select(Detection.violation_type, Detection.violation_type_title)
            .where(Detection.id.in_(newest))
            .order_by(Detection.violation_type)
        ).all()
        sources = session.scalars(select(Source.name).order_by(Source.name)).all()
        return render(
            request,
            "queue.html",
            user=user,
            detections=detections,
            f=filters,
            types=types,
            sources=sources,
            severities=list(SEVERITY_ORDER),
            graphic=GRAPHIC_TYPES,
            can_decide=user.role in auth.REVIEWERS,
            message=request.query_params.get("done"),
        )

    @app.post("/detections/bulk")
    def bulk_decide(
        request: Request,
        session: DB,
        user: Reviewer,
        outcome: Annotated[str, Form()] = "",
        ids: Annotated[list[int] | None, Form()] = None,
        reason: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "/",
        csrf_token_: CsrfField = None,
    ) -> Response:
        """One decision for every selected detection; each is recorded on its own."""
        check_csrf(request, csrf_token_)
        target = back if back.startswith("/") and not back.startswith("//") else "/"
        chosen = session.scalars(select(Detection).where(Detection.id.in_(ids or []))).all()
        if not chosen:
            raise HTTPException(
                status_code=400, detail=t("error.nothing_selected", lang_of(request))
            )
        try:
            for det in chosen:
                decide(session, det, user=user, outcome=outcome, reason=reason, via="web bulk")
        except DecisionError as exc:
            session.rollback()  # all or nothing: the selection stays as it was
            raise HTTPException(status_code=400, detail=t(exc.code, lang_of(request))) from exc
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}done={len(chosen)}", status_code=303)

    def _detection(session: Session, detection_id: int) -> Detection:
        det = session.get(
            Detection,
            detection_id,
            options=[
                selectinload(Detection.page),
                selectinload(Detection.capture).selectinload(Capture.artifacts),
                selectinload(Detection.decided_by),
            ],
        )
        if det is None:
            raise HTTPException(status_code=404)
        return det

    def _detail_page(
        request: Request,
        session: Session,
        user: User,
        det: Detection,
        *,
        error: str | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        cap = det.capture
        # Each file is hashed again as the page is shown: the officer sees whether the
        # evidence is intact, not only what it was when stored.
        checks = {a.sha256: store.verify(a.sha256) for a in cap.artifacts} if cap else {}
        history = session.scalars(
            select(Capture)
            .join(Page, Capture.page_id == Page.id)
            .where(Page.url == det.page.url)
            .order_by(Capture.id.desc())
            .limit(20)
        ).all()
        earlier = session.scalars(
            select(Detection)
            .join(Page, Detection.page_id == Page.id)
            .where(Page.url == det.page.url, Detection.id != det.id)
            .order_by(Detection.id.desc())
            .limit(20)
        ).all()
        next_id = session.scalar(
            QueueFilters().apply(select(Detection.id)).where(Detection.id != det.id)
            .order_by(*PRIORITY).limit(1)
        )  # fmt: skip
        return render(
            request,
            "detection.html",
            status_code=status_code,
            user=user,
            d=det,
            error=error,
            checks=checks,
            history=history,
            earlier=earlier,
            next_id=next_id,
            graphic=det.violation_type in GRAPHIC_TYPES,
            can_decide=user.role in auth.REVIEWERS,
            done=request.query_params.get("done"),
        )

    @app.get("/detections/{detection_id}", response_class=HTMLResponse)
    def detection_detail(
        request: Request, session: DB, user: Reader, detection_id: int
    ) -> HTMLResponse:
        det = _detection(session, detection_id)
        audit.record(
            session, action="evidence.viewed", object_type="detection", object_id=det.id, user=user
        )
        return _detail_page(request, session, user, det)

    def _decide(
        request: Request,
        session: Session,
        user: User,
        detection_id: int,
        outcome: str,
        reason: str | None,
        token: str | None,
    ) -> Response:
        check_csrf(request, token)
        det = _detection(session, detection_id)
        try:
            decide(session, det, user=user, outcome=outcome, reason=reason)
        except DecisionError as exc:
            return _detail_page(
                request, session, user, det, error=t(exc.code, lang_of(request)), status_code=400
            )
        return RedirectResponse(f"/detections/{det.id}?done={det.status.value}", status_code=303)

    @app.post("/detections/{detection_id}/confirm")
    def confirm(
        request: Request,
        session: DB,
        user: Reviewer,
        detection_id: int,
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _decide(request, session, user, detection_id, "confirm", None, csrf_token_)

    @app.post("/detections/{detection_id}/reject")
    def reject(
        request: Request,
        session: DB,
        user: Reviewer,
        detection_id: int,
        reason: Annotated[str, Form()] = "",
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _decide(request, session, user, detection_id, "reject", reason, csrf_token_)

    @app.post("/detections/{detection_id}/needs-info")
    def needs_info(
        request: Request,
        session: DB,
        user: Reviewer,
        detection_id: int,
        reason: Annotated[str, Form()] = "",
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _decide(request, session, user, detection_id, "needs_info", reason, csrf_token_)

    # ------------------------------------------------------------------ evidence

    @app.get("/evidence/{sha256}")
    def evidence(session: DB, user: Reader, sha256: str) -> Response:
        art = session.scalars(select(Artifact).where(Artifact.sha256 == sha256)).first()
        if art is None:
            raise HTTPException(status_code=404)
        audit.record(
            session,
            action="evidence.file_viewed",
            object_type="artifact",
            object_id=sha256,
            user=user,
            details={"kind": art.kind},
        )
        try:
            data = store.open_bytes(sha256)
        except FileNotFoundError as exc:
            raise HTTPException(status_code=410, detail="artifact missing from the store") from exc
        if art.media_type.startswith("image/"):
            return Response(data, media_type=art.media_type)
        packaged = _DOWNLOADS.get(art.kind)
        if packaged:  # archives, manifest, timestamp, PDF: files to keep, as they are
            return Response(
                data,
                media_type="application/octet-stream",
                headers={
                    "Content-Disposition": f'attachment; filename="{sha256}{packaged}"',
                    "Content-Security-Policy": "sandbox",
                },
            )
        # Captured HTML is evidence, never a page to render: download it as text.
        return Response(
            data,
            media_type="text/plain; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{sha256}.{art.kind}.txt"',
                "Content-Security-Policy": "sandbox",
            },
        )

    # ------------------------------------------------------------------ notices

    @app.get("/notices", response_class=HTMLResponse)
    def notices(request: Request, session: DB, user: Reviewer) -> HTMLResponse:
        rows = session.execute(
            select(Notice, func.count(NoticeFact.id))
            .outerjoin(NoticeFact)
            .group_by(Notice.id)
            .order_by(Notice.id.desc())
        ).all()
        confirmed_open = session.scalar(
            select(func.count(Detection.id)).where(
                Detection.status == DetectionStatus.CONFIRMED, Detection.notice_fact_id.is_(None)
            )
        )
        return render(
            request,
            "notices.html",
            user=user,
            rows=rows,
            confirmed_open=confirmed_open,
            message=request.query_params.get("built"),
        )

    @app.post("/notices/build")
    def notices_build(
        request: Request, session: DB, user: Reviewer, csrf_token_: CsrfField = None
    ) -> Response:
        check_csrf(request, csrf_token_)
        result = build_drafts(session, authority=settings.authority, user=user)
        return RedirectResponse(f"/notices?built={len(result.notices)}", status_code=303)

    def _notice_page(
        request: Request,
        session: Session,
        user: User,
        notice_id: int,
        *,
        error: str | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        notice = session.get(
            Notice,
            notice_id,
            options=[selectinload(Notice.facts).selectinload(NoticeFact.detections)],
        )
        if notice is None:
            raise HTTPException(status_code=404)
        fitting = drafts.candidates(session, notice) if notice.status.value == "draft" else []
        return render(
            request,
            "notice.html",
            status_code=status_code,
            user=user,
            n=notice,
            candidates=fitting,
            can_sign=user.role in auth.SIGNERS,
            error=error,
            done=request.query_params.get("done"),
        )

    @app.get("/notices/{notice_id}", response_class=HTMLResponse)
    def notice_detail(
        request: Request, session: DB, user: Reviewer, notice_id: int
    ) -> HTMLResponse:
        return _notice_page(request, session, user, notice_id)

    def _edit(
        request: Request, session: Session, user: User, notice_id: int, token: str | None, edit
    ) -> Response:  # type: ignore[no-untyped-def]
        check_csrf(request, token)
        try:
            target = edit()
        except drafts.DraftError as exc:
            session.rollback()
            message = t(exc.code, lang_of(request), **exc.values)
            return _notice_page(request, session, user, notice_id, error=message, status_code=400)
        except SigningError as exc:
            session.rollback()
            return _notice_page(request, session, user, notice_id, error=str(exc), status_code=400)
        return RedirectResponse(f"/notices/{target}?done=1", status_code=303)

    @app.post("/notices/{notice_id}/authority")
    def notice_authority(
        request: Request,
        session: DB,
        user: Reviewer,
        notice_id: int,
        authority: Annotated[str, Form()] = "",
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _edit(
            request, session, user, notice_id, csrf_token_,
            lambda: drafts.set_authority(session, notice_id, authority, user=user).id,
        )  # fmt: skip

    @app.post("/notices/{notice_id}/facts/{fact_id}/remove")
    def notice_remove_fact(
        request: Request,
        session: DB,
        user: Reviewer,
        notice_id: int,
        fact_id: int,
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _edit(
            request, session, user, notice_id, csrf_token_,
            lambda: drafts.remove_fact(session, notice_id, fact_id, user=user).id,
        )  # fmt: skip

    @app.post("/notices/{notice_id}/facts/add")
    def notice_add_facts(
        request: Request,
        session: DB,
        user: Reviewer,
        notice_id: int,
        detection: Annotated[list[int] | None, Form()] = None,
        csrf_token_: CsrfField = None,
    ) -> Response:
        return _edit(
            request, session, user, notice_id, csrf_token_,
            lambda: drafts.add_detections(session, notice_id, detection or [], user=user).id,
        )  # fmt: skip

    @app.post("/notices/{notice_id}/revise")
    def notice_revise(
        request: Request, session: DB, user: Reviewer, notice_id: int, csrf_token_: CsrfField = None
    ) -> Response:
        return _edit(
            request, session, user, notice_id, csrf_token_,
            lambda: drafts.revise(session, notice_id, user=user).id,
        )  # fmt: skip

    @app.post("/notices/{notice_id}/sent")
    def notice_sent(
        request: Request, session: DB, user: Reviewer, notice_id: int, csrf_token_: CsrfField = None
    ) -> Response:
        return _edit(
            request, session, user, notice_id, csrf_token_,
            lambda: mark_sent(
                session,
                notice_id,
                user=user,
                first_check_after=timedelta(hours=settings.recheck_after_h),
            ).id,
        )  # fmt: skip

    @app.post("/notices/{notice_id}/sign")
    def notice_sign(
        request: Request,
        session: DB,
        user: Signer,
        notice_id: int,
        key: Annotated[UploadFile | None, File()] = None,
        password: Annotated[str, Form()] = "",
        csrf_token_: CsrfField = None,
    ) -> Response:
        # The key is read into memory for this one signature and never stored.
        p12 = key.file.read(1_000_000) if key is not None else b""

        def sign() -> int:
            if not p12:
                raise drafts.DraftError("error.key_required")
            return sign_notice(
                session, store, notice_id, p12=p12, password=password or None, user=user
            ).notice_id

        return _edit(request, session, user, notice_id, csrf_token_, sign)

    @app.get("/notices/{notice_id}/export.{fmt}")
    def notice_export(session: DB, user: Reviewer, notice_id: int, fmt: str) -> Response:
        try:
            data = render_notice(session, store, notice_id, fmt)
        except ExportError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        audit.record(
            session,
            action="notice.exported",
            object_type="notice",
            object_id=notice_id,
            user=user,
            details={"format": fmt},
        )
        from notices.render import RENDERERS

        media = RENDERERS[fmt].media_type
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="notice-{notice_id}.{fmt}"'},
        )

    return app
