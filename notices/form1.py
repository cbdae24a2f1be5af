"""Form 1: the list of staff who enter resources and links into the system (Rule 5),
sent to the authorised body and renewed at least every half year."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.db import utcnow
from kuzet.models import AuditEvent, Role, User
from notices.forms import DOCUMENT_LANGUAGES, FORM1
from notices.render import TEMPLATES

# Who enters resources (monitors add sources), links and facts (officers), and signs.
STAFF_ROLES = (Role.MONITOR, Role.OFFICER, Role.HEAD)
RENEW_AFTER = timedelta(days=183)  # "at least every half year"
ACTION = "form1.exported"


@dataclass(frozen=True)
class StaffRow:
    number: int
    full_name: str
    email: str
    phone: str


def staff(session: Session) -> list[StaffRow]:
    users = session.scalars(
        select(User)
        .where(User.is_active.is_(True), User.role.in_(STAFF_ROLES))
        .order_by(User.full_name, User.username)
    ).all()
    return [
        StaffRow(i, u.full_name or u.username, u.email, u.phone) for i, u in enumerate(users, 1)
    ]


def render_pdf(rows: list[StaffRow], *, authority: str, at: datetime) -> bytes:
    from weasyprint import HTML

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = env.get_template("form1.html").render(
        rows=rows,
        forms=FORM1,
        languages=DOCUMENT_LANGUAGES,
        authority=authority,
        at=at.strftime("%Y-%m-%d"),
    )
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def render_docx(rows: list[StaffRow], *, authority: str, at: datetime) -> bytes:
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    for i, lang in enumerate(DOCUMENT_LANGUAGES):
        f = FORM1[lang]
        if i:
            doc.add_section(WD_SECTION.NEW_PAGE)
        doc.add_paragraph(authority).alignment = WD_ALIGN_PARAGRAPH.CENTER
        title = doc.add_paragraph()
        title.add_run(f["title"]).bold = True
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        doc.add_paragraph(f"{f['intro']} ({f['as_of']} {at:%Y-%m-%d})")
        table = doc.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        for cell, key in zip(
            table.rows[0].cells, ("no", "full_name", "email", "phone"), strict=True
        ):
            cell.text = f[key]
        for row in rows:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = str(row.number), row.full_name
            cells[2].text, cells[3].text = row.email, row.phone
        doc.add_paragraph(f["official"])
        doc.add_paragraph("_" * 60)
        doc.add_paragraph(f["signature_caption"])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def record_export(
    session: Session,
    *,
    fmt: str,
    sha256: str,
    rows: int,
    signer: str | None,
    user: User | None = None,
    actor: str | None = None,
) -> None:
    details: dict[str, Any] = {"format": fmt, "sha256": sha256, "staff": rows, "signer": signer}
    audit.record(
        session, action=ACTION, object_type="form1", object_id="staff", user=user, actor=actor,
        details=details,
    )  # fmt: skip


def last_export(session: Session) -> datetime | None:
    return session.scalar(
        select(AuditEvent.at)
        .where(AuditEvent.action == ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def renewal_due(session: Session) -> bool:
    """True when Form 1 was never exported or the last export is over six months old."""
    last = last_export(session)
    return last is None or utcnow() - last > RENEW_AFTER
