"""Notice renderers: JSON for systems, PDF for people (Form 2 in Kazakh and Russian)."""

from __future__ import annotations

import base64
import json
from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment, FileSystemLoader, select_autoescape

import kuzet
from evidence.store import ArtifactStore
from kuzet.models import Notice
from notices.forms import DOCUMENT_LANGUAGES, FORM2

TEMPLATES = Path(__file__).resolve().parent / "templates"


class NoticeRenderer(ABC):
    """Turns a notice (with its facts loaded) into one document.

    ``render`` returns the complete file as bytes and never writes anything itself;
    it reads screenshots from ``store`` and raises ``FileNotFoundError`` when one is
    missing, so an incomplete notice is never produced silently.
    """

    format: ClassVar[str]
    media_type: ClassVar[str]

    @abstractmethod
    def render(self, notice: Notice, store: ArtifactStore) -> bytes: ...


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def notice_document(notice: Notice) -> dict[str, Any]:
    """The notice as plain data (the JSON export, and the PDF template's input)."""
    return {
        "id": notice.id,
        "status": notice.status.value,
        "authority": notice.authority,
        "violation_type": notice.violation_type,
        "violation_type_title": notice.violation_type_title,
        "legal_norm": notice.legal_norm,
        "created_at": _iso(notice.created_at),
        "facts": [
            {
                "number": fact.position,
                "url": fact.url,
                "domain": fact.domain,
                "ip": fact.ip,
                "protocol": fact.protocol,
                "captured_at": _iso(fact.captured_at),
                "screenshot_sha256": fact.screenshot_sha256,
                "detections": [
                    {
                        "id": d.id,
                        "rule_id": d.rule_id,
                        "rule_version": d.rule_version,
                        "rule_fingerprint": d.rule_fingerprint,
                    }
                    for d in fact.detections
                ],
            }
            for fact in notice.facts
        ],
        "generator": f"kuzet {kuzet.__version__}",
    }


def human_time(iso: str | None) -> str:
    """'2026-11-22T05:04:55.597366Z' → '2026-11-22 05:04:55 UTC'."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")


class JsonRenderer(NoticeRenderer):
    format = "json"
    media_type = "application/json"

    def render(self, notice: Notice, store: ArtifactStore) -> bytes:
        doc = notice_document(notice)
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


class PdfRenderer(NoticeRenderer):
    """HTML → PDF with WeasyPrint; DejaVu fonts are embedded so Kazakh letters render."""

    format = "pdf"
    media_type = "application/pdf"

    def __init__(self, languages: tuple[str, ...] = DOCUMENT_LANGUAGES) -> None:
        self.languages = languages
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
        )
        self.env.filters["human_time"] = human_time

    def render_html(self, notice: Notice, store: ArtifactStore) -> str:
        doc = notice_document(notice)
        shots: dict[str, str] = {}
        for fact in doc["facts"]:
            sha = fact["screenshot_sha256"]
            if sha and sha not in shots:
                shots[sha] = (
                    "data:image/png;base64," + base64.b64encode(store.open_bytes(sha)).decode()
                )
        return self.env.get_template("form2.html").render(
            doc=doc,
            forms=FORM2,
            languages=self.languages,
            shots=shots,
            is_draft=notice.status.value == "draft",
        )

    def render(self, notice: Notice, store: ArtifactStore) -> bytes:
        from weasyprint import HTML

        html = self.render_html(notice, store)
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
            pdf_identifier=f"kuzet-notice-{notice.id}".encode(), custom_metadata=True
        )


RENDERERS: dict[str, type[NoticeRenderer]] = {"json": JsonRenderer, "pdf": PdfRenderer}
