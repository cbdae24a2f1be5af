"""Write a notice to a file in one of the renderer formats."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, selectinload

from evidence.store import ArtifactStore
from kuzet.models import Notice, NoticeFact
from notices.render import RENDERERS


class ExportError(ValueError):
    pass


def load_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(
        Notice, notice_id, options=[selectinload(Notice.facts).selectinload(NoticeFact.detections)]
    )
    if notice is None:
        raise ExportError(f"notice {notice_id} does not exist")
    return notice


def render_notice(session: Session, store: ArtifactStore, notice_id: int, fmt: str) -> bytes:
    if fmt not in RENDERERS:
        raise ExportError(f"unknown format {fmt!r} (use one of: {', '.join(RENDERERS)})")
    notice = load_notice(session, notice_id)
    if fmt == "pdf" and notice.signed_pdf_sha256:
        return store.open_bytes(notice.signed_pdf_sha256)  # the signed original, as signed
    return RENDERERS[fmt]().render(notice, store)


def write_atomically(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
