"""Review routes for notices: the list, drafting (authority, facts), signing, sending and
export. Officers and heads draft; only heads sign (Rules 9-11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kuzet import audit
from kuzet.i18n import t
from kuzet.models import Detection, DetectionStatus, Notice, NoticeFact, User
from notices import drafts
from notices.builder import build_drafts
from notices.export import ExportError, render_notice
from notices.signing import SigningError, mark_sent, sign_notice
from review import auth
from review.auth import DB, Reviewer, Signer, lang_of
from review.pages import CsrfField, Pages


def add_notice_routes(app: FastAPI, pages: Pages) -> None:
    # Added to the app itself, not through an APIRouter: the app's route table stays
    # flat, and the roles test walks all of it.
    render, check_csrf = pages.render, pages.check_csrf
    settings, store = pages.settings, pages.store

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
