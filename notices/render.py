"""Notice renderers: JSON for systems, PDF for people (Form 2 in Kazakh and Russian)."""

from __future__ import annotations

import base64
import io
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
ATTACHMENT_NAME = "kuzet-notice.json"


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
        "signer": notice.signer_subject,
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
        from weasyprint import HTML, Attachment

        html = self.render_html(notice, store)
        # The notice as data rides inside the PDF: once signed, the facts and the annex
        # hashes are covered by the signature, and `kuzet notices verify` reads them back.
        data = JsonRenderer().render(notice, store).decode("utf-8")
        attachment = Attachment(
            string=data,
            name=ATTACHMENT_NAME,
            description="Form 2 notice as data (facts, annex SHA-256)",
            relationship="Data",
        )
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
            pdf_identifier=f"kuzet-notice-{notice.id}".encode(),
            custom_metadata=True,
            attachments=[attachment],
        )


class DocxRenderer(NoticeRenderer):
    """Form 2 as a Word document (kk then ru, then the screenshot annex), for offices
    that file or edit notices in Word. The signed original is always the PDF."""

    format = "docx"
    media_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    def __init__(self, languages: tuple[str, ...] = DOCUMENT_LANGUAGES) -> None:
        self.languages = languages

    def render(self, notice: Notice, store: ArtifactStore) -> bytes:
        from docx import Document
        from docx.enum.section import WD_SECTION
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm, Pt, RGBColor

        doc = notice_document(notice)
        is_draft = notice.status.value == "draft"
        out = Document()
        style = out.styles["Normal"]
        style.font.name = "DejaVu Serif"
        style.font.size = Pt(11)
        section = out.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin, section.right_margin = Cm(2.5), Cm(1.8)

        def para(text: str, *, bold: bool = False, size: float | None = None,
                 align: Any = None, color: Any = None) -> Any:  # fmt: skip
            p = out.add_paragraph()
            run = p.add_run(text)
            run.bold = bold
            if size:
                run.font.size = Pt(size)
            if color is not None:
                run.font.color.rgb = color
            if align is not None:
                p.alignment = align
            return p

        for i, lang in enumerate(self.languages):
            f = FORM2[lang]
            if i:
                out.add_section(WD_SECTION.NEW_PAGE)
            meta = f"{f['notice_no']} {doc['id']} · {human_time(doc['created_at'])}"
            if is_draft:
                meta = f"{f['draft_mark']} · {meta}"
            para(meta, size=8, align=WD_ALIGN_PARAGRAPH.RIGHT,
                 color=RGBColor(0xB0, 0, 0) if is_draft else None)  # fmt: skip
            para(doc["authority"] or " ", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
            para(f["authority_caption"], size=8.5, align=WD_ALIGN_PARAGRAPH.CENTER)
            para(f["title"], bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
            para(f["preamble"], align=WD_ALIGN_PARAGRAPH.JUSTIFY)
            para(f"1. {f['field1']}", bold=True)
            para((doc["violation_type_title"] or {}).get(lang) or doc["violation_type"])
            para(f"2. {f['field2']}", bold=True)
            para((doc["legal_norm"] or {}).get(lang, ""))
            para(f"3. {f['field3']}:", bold=True)
            for fact in doc["facts"]:
                para(
                    f"{fact['number']}) {f['fact_url']}: {fact['url']}; "
                    f"{f['fact_domain']}: {fact['domain']}; "
                    f"{f['fact_ip']}: {fact['ip'] or f['not_known']}; "
                    f"{f['fact_protocol']}: {fact['protocol'] or f['not_known']}; "
                    f"{f['fact_device']}: {f['not_known']}.",
                    size=10,
                )
            para(f["confirm"])
            para(f["official"])
            para(doc["signer"] or "_" * 60)
            para(f["signature_caption"], size=8.5)
            para(f["note"], size=8.5)

        out.add_section(WD_SECTION.NEW_PAGE)
        para(
            " / ".join(FORM2[lang]["annex_title"] for lang in self.languages),
            bold=True,
            size=13,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
        kk, ru = FORM2["kk"], FORM2["ru"]
        for fact in doc["facts"]:
            table = out.add_table(rows=3, cols=2)
            table.style = "Table Grid"
            rows = [
                (f"{kk['annex_fact']} / {ru['annex_fact']}", f"{fact['number']}) {fact['url']}"),
                (f"{kk['annex_sha']} / {ru['annex_sha']}", fact["screenshot_sha256"] or ""),
                (f"{kk['annex_time']} / {ru['annex_time']}", human_time(fact["captured_at"])),
            ]
            for row, (k, v) in zip(table.rows, rows, strict=True):
                row.cells[0].text, row.cells[1].text = k, v
            sha = fact["screenshot_sha256"]
            if sha:
                png = store.open_bytes(sha)
                width, height = _png_size(png)
                # A tall page fits the page height; anything else the text width.
                size = {"height": Cm(22)} if height > width * 22 / 16.5 else {"width": Cm(16.5)}
                out.add_picture(io.BytesIO(png), **size)
            else:
                para(f"{kk['annex_missing']} / {ru['annex_missing']}")
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        return img.size


RENDERERS: dict[str, type[NoticeRenderer]] = {
    "json": JsonRenderer,
    "pdf": PdfRenderer,
    "docx": DocxRenderer,
}
