"""Review routes for detections: the queue with its filters, bulk decisions, a detection's
evidence page, the officer's decision (confirm, reject with a reason, ask for more) and
the evidence files themselves."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from evidence.sniff import OCTET_STREAM, download_name, sniff
from kuzet import audit
from kuzet.i18n import t
from kuzet.models import Artifact, Capture, Detection, DetectionStatus, Page, Source, User
from review import auth
from review.auth import DB, Reader, Reviewer, lang_of
from review.decisions import DecisionError, decide
from review.pages import CsrfField, Pages
from review.security import EVIDENCE_CSP
from rules.schema import SEVERITY_ORDER

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


def evidence_response(data: bytes, sha256: str, kind: str) -> Response:
    """An evidence file as the UI serves it: typed from its bytes (the stored type, which
    an older kuzet took from the page, is never used), never sniffed again by the browser,
    sandboxed, and shown inline only when it is one of the allowlisted images; anything
    else is an opaque download under a name of kuzet's own."""
    sniffed = sniff(data, kind)
    disposition = "inline" if sniffed.inline else "attachment"
    name = download_name(sha256, kind, sniffed)
    return Response(
        data,
        media_type=sniffed.media_type if sniffed.inline else OCTET_STREAM,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Content-Security-Policy": EVIDENCE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


def add_detection_routes(app: FastAPI, pages: Pages) -> None:
    # Added to the app itself, not through an APIRouter: the app's route table stays
    # flat, and the roles test walks all of it.
    render, check_csrf = pages.render, pages.check_csrf
    store = pages.store

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
        audit.access(
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

    # evidence

    @app.get("/evidence/{sha256}")
    def evidence(session: DB, user: Reader, sha256: str) -> Response:
        art = session.scalars(select(Artifact).where(Artifact.sha256 == sha256)).first()
        if art is None:
            raise HTTPException(status_code=404)
        audit.access(
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
        return evidence_response(data, sha256, art.kind)
