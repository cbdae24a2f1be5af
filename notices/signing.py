"""Signing notices with the head's key (PAdES, pyHanko) and verifying signed PDFs.

Rule 9: the first head or a deputy signs. Signing renders the notice once more (Kazakh
and Russian, with the screenshot annex and the notice as data attached), signs the PDF
with the PKCS#12 key as a PAdES baseline (B-B) signature, stores the signed file as
evidence and locks the notice. Verifying checks the signature, that it covers the whole
file, who signed, and every annex screenshot against the evidence store.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.store import ArtifactStore
from kuzet import audit
from kuzet.db import utcnow
from kuzet.models import Notice, NoticeStatus, Role, User
from notices.export import load_notice
from notices.render import ATTACHMENT_NAME, PdfRenderer

SIGNATURE_FIELD = "HeadSignature"


class SigningError(ValueError):
    """The notice cannot be signed (not a draft, wrong key or password, wrong role)."""


@dataclass(frozen=True)
class Signed:
    notice_id: int
    pdf: bytes
    sha256: str
    signer_subject: str


def _load_key(p12: bytes, password: str | None) -> Any:
    from pyhanko.sign import signers

    try:
        return signers.SimpleSigner.load_pkcs12_data(
            p12, other_certs=(), passphrase=password.encode() if password else None
        )
    except ValueError as exc:
        raise SigningError(
            "the key file could not be opened: wrong password or not PKCS#12"
        ) from exc


def sign_notice(
    session: Session,
    store: ArtifactStore,
    notice_id: int,
    *,
    p12: bytes,
    password: str | None,
    user: User | None = None,
    actor: str | None = None,
) -> Signed:
    """Sign a draft notice; it is locked from then on. ``user``, when given, must be a
    head (or an admin standing in)."""
    if user is not None and user.role not in (Role.HEAD, Role.ADMIN):
        raise SigningError(f"user {user.username} ({user.role.value}) may not sign notices")
    notice = load_notice(session, notice_id)
    if notice.status != NoticeStatus.DRAFT:
        raise SigningError(f"notice {notice_id} is {notice.status.value}, not a draft")
    if not notice.facts:
        raise SigningError(f"notice {notice_id} has no facts")
    signer = _load_key(p12, password)
    subject = signer.signing_cert.subject.human_friendly
    cert_sha256 = hashlib.sha256(signer.signing_cert.dump()).hexdigest()

    # What is signed must say it is signed (no draft mark, the signer named), so it is
    # rendered as it will stand.
    notice.status, notice.signer_subject = NoticeStatus.SIGNED, subject
    try:
        pdf = PdfRenderer().render(notice, store)
    except BaseException:
        notice.status, notice.signer_subject = NoticeStatus.DRAFT, None
        raise
    signed = _sign(pdf, signer, f"Form 2 notice No. {notice.id}")
    stored = store.put(signed)  # durable before the row that names it commits

    now = utcnow()
    notice.signed_at = notice.status_changed_at = now
    notice.signed_by_id = user.id if user else None
    notice.signer_cert_sha256 = cert_sha256
    notice.signed_pdf_sha256 = stored.sha256
    audit.record(
        session,
        action="notice.signed",
        object_type="notice",
        object_id=notice.id,
        user=user,
        actor=actor,
        details={
            "pdf_sha256": stored.sha256,
            "signer": subject,
            "signer_cert_sha256": cert_sha256,
            "facts": [f.url for f in notice.facts],
        },
    )
    return Signed(notice.id, signed, stored.sha256, subject)


def sign_pdf(pdf: bytes, *, p12: bytes, password: str | None, reason: str) -> tuple[bytes, str]:
    """Sign any PDF of ours (Form 1) the same way; returns (signed PDF, signer subject)."""
    signer = _load_key(p12, password)
    return _sign(pdf, signer, reason), signer.signing_cert.subject.human_friendly


def _sign(pdf: bytes, signer: Any, reason: str) -> bytes:
    """A PAdES baseline (B-B) signature over the whole file, in our signature field."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        name=signer.signing_cert.subject.human_friendly,
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    return out.getvalue()


def mark_sent(
    session: Session,
    notice_id: int,
    *,
    user: User | None = None,
    actor: str | None = None,
    first_check_after: timedelta = timedelta(hours=6),
) -> Notice:
    """Sent: from now the resource has six hours (Art. 41-1 §3-1); each fact's URL is
    re-checked after ``first_check_after``, then at the configured cadence."""
    from scheduler.recheck import schedule_first_checks

    notice = load_notice(session, notice_id)
    if notice.status != NoticeStatus.SIGNED:
        raise SigningError(
            f"notice {notice_id} is {notice.status.value}; only a signed one is sent"
        )
    notice.status = NoticeStatus.SENT
    notice.sent_at = notice.status_changed_at = utcnow()
    schedule_first_checks(notice, notice.sent_at, first_check_after)
    audit.record(
        session,
        action="notice.sent",
        object_type="notice",
        object_id=notice.id,
        user=user,
        actor=actor,
        details={"pdf_sha256": notice.signed_pdf_sha256},
    )
    return notice


def mark_restricted(
    session: Session,
    notice_id: int,
    *,
    order: str,
    user: User | None = None,
    actor: str | None = None,
) -> Notice:
    """The authorised body restricted access (the content stayed up after the deadline)."""
    notice = load_notice(session, notice_id)
    if notice.status not in (NoticeStatus.SENT, NoticeStatus.STILL_AVAILABLE):
        raise SigningError(
            f"notice {notice_id} is {notice.status.value}; only a sent notice whose content "
            "is still available can end in restriction"
        )
    if not order.strip():
        raise SigningError("name the order that restricted access (number and date)")
    notice.status, notice.status_changed_at = NoticeStatus.RESTRICTED, utcnow()
    audit.record(
        session,
        action="notice.restricted",
        object_type="notice",
        object_id=notice.id,
        user=user,
        actor=actor,
        details={"order": order.strip()},
    )
    return notice


# ---------------------------------------------------------------------- verify


@dataclass
class Verification:
    """What `kuzet notices verify` found. ``valid`` only when nothing is wrong."""

    signed: bool = False
    intact: bool = False  # the signed bytes are unchanged and the signature is sound
    whole_file: bool = False  # nothing was appended after signing
    trusted: bool = False  # the signer is a trusted or known signing key
    signer: str = ""
    signed_at: str | None = None
    notice_id: int | None = None
    annex: list[tuple[int, str, str]] = field(default_factory=list)  # (fact, sha256, state)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and self.signed and self.intact and self.whole_file


def _attachment(pdf: bytes) -> dict[str, Any] | None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    files = reader.attachments.get(ATTACHMENT_NAME)
    if not files:
        return None
    data: dict[str, Any] = json.loads(files[0])
    return data


def verify_pdf(
    pdf: bytes,
    *,
    store: ArtifactStore | None,
    session: Session | None = None,
    trust_roots: list[bytes] = (),  # type: ignore[assignment]
) -> Verification:
    """Check a signed notice PDF. The signer is trusted when its certificate chains to
    one of ``trust_roots`` (PEM or DER), or, with none given, when it is the very key
    this installation recorded when the notice was signed."""
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    out = Verification()
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception as exc:
        out.problems.append(f"not a readable PDF: {exc}")
        return out
    if not signatures:
        out.problems.append("the PDF carries no signature")
        return out
    out.signed = True
    sig = signatures[-1]
    roots = [c for r in trust_roots for c in load_certs_from_pemder_data(r)]
    # Never the operating system's trust list: the roots given, or none (then the known key)
    context = ValidationContext(trust_roots=roots)
    try:
        status = validate_pdf_signature(sig, context)
    except (SignatureValidationError, ValueError) as exc:
        out.problems.append(f"the signature could not be validated: {exc}")
        return out
    cert = sig.signer_cert
    out.signer = cert.subject.human_friendly
    out.signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    out.intact = bool(status.intact and status.valid)
    if not out.intact:
        out.problems.append("the signature does not match the document (altered after signing)")
    coverage = getattr(status.coverage, "name", str(status.coverage))
    out.whole_file = coverage == "ENTIRE_FILE"
    if not out.whole_file:
        out.problems.append(f"the signature does not cover the whole file ({coverage})")
    if roots:
        out.trusted = bool(status.trusted)
    elif session is not None:
        cert_sha256 = hashlib.sha256(cert.dump()).hexdigest()
        out.trusted = (
            session.scalar(
                select(Notice.id).where(Notice.signer_cert_sha256 == cert_sha256).limit(1)
            )
            is not None
        )
    if not out.trusted:
        out.problems.append(f"signer not trusted: {out.signer}")

    try:
        doc = _attachment(pdf)
    except Exception as exc:
        doc = None
        out.problems.append(f"the notice data attached to the PDF is unreadable: {exc}")
    if doc is None:
        out.problems.append(f"no {ATTACHMENT_NAME} attached: not a kuzet notice")
        return out
    out.notice_id = doc.get("id")
    for fact in doc.get("facts", []):
        sha = fact.get("screenshot_sha256")
        number = int(fact.get("number", 0))
        if not sha:
            out.annex.append((number, "", "no screenshot"))
            out.problems.append(f"fact {number}: no screenshot in the annex")
            continue
        if store is None:
            out.annex.append((number, sha, "not checked"))
            continue
        try:
            data = store.open_bytes(sha)
        except FileNotFoundError:
            out.annex.append((number, sha, "missing"))
            out.problems.append(f"fact {number}: screenshot {sha} is missing from the store")
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            out.annex.append((number, sha, "altered"))
            out.problems.append(f"fact {number}: screenshot {sha} in the store was altered")
        else:
            out.annex.append((number, sha, "ok"))
    return out
