"""Rows as the pipeline would leave them, for tests of later stages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from evidence.store import ArtifactStore
from kuzet.db import utcnow
from kuzet.models import (
    Artifact,
    Capture,
    CaptureStatus,
    CrawlRun,
    Detection,
    FetchStatus,
    Page,
    Role,
    Source,
    User,
)
from kuzet.users import create_user

NORMS = {
    "online_gambling": {"kk": "«Ойын бизнесі туралы» Заң", "ru": "Закон «Об игорном бизнесе»"},
    "drug_sales": {"kk": "Есірткі туралы Заң", "ru": "Закон о наркотиках"},
    "pornography": {"kk": "ҚР ҚК 311-бабы", "ru": "Статья 311 УК РК"},
    "suicide_promotion": {"kk": "«Бала құқықтары туралы» Заң", "ru": "Закон «О правах ребёнка»"},
}
TITLES = {
    "online_gambling": {
        "kk": "Заңсыз онлайн құмар ойындар",
        "ru": "Незаконные онлайн азартные игры",
    },
    "drug_sales": {"kk": "Есірткі сату", "ru": "Продажа наркотиков"},
    "pornography": {"kk": "Порнография", "ru": "Порнография"},
    "suicide_promotion": {"kk": "Суицидті насихаттау", "ru": "Пропаганда суицида"},
}


def png_for(url: str) -> bytes:
    """A small real PNG, different for every URL (so each gets its own hash)."""
    import hashlib
    import io

    from PIL import Image

    colour = tuple(hashlib.sha256(url.encode()).digest()[:3])
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def source_and_run(s: Session) -> tuple[Source, CrawlRun]:
    src = s.query(Source).filter_by(name="src").one_or_none()
    if src is None:
        src = Source(name="src", start_url="http://127.0.0.1:9/")
        s.add(src)
        s.flush()
    run = CrawlRun(source_id=src.id)
    s.add(run)
    s.flush()
    return src, run


def watched_page(
    s: Session, url: str, *, source: str = "watched", start_url: str | None = None
) -> Page:
    """A page fetched in a new run of ``source`` (made if missing), a source that allows
    private addresses for its own host, as the test sites on 127.0.0.1 need."""
    src = s.query(Source).filter_by(name=source).one_or_none()
    if src is None:
        src = Source(name=source, start_url=start_url or url, allow_private=True)
        s.add(src)
        s.flush()
    run = CrawlRun(source_id=src.id)
    s.add(run)
    s.flush()
    page = Page(source_id=src.id, crawl_run_id=run.id, url=url, fetch_status=FetchStatus.OK)
    s.add(page)
    s.flush()
    return page


def detection(
    s: Session,
    store: ArtifactStore | None,
    url: str,
    *,
    vtype: str = "online_gambling",
    rule_id: str = "gambling.casino-promo.ru",
    capture_ok: bool = True,
    text: str = "онлайн-казино и фриспины",
) -> Detection:
    src, run = source_and_run(s)
    page = Page(
        source_id=src.id,
        crawl_run_id=run.id,
        url=url,
        final_url=url,
        fetch_status=FetchStatus.OK,
        http_status=200,
        content_sha256=str(abs(hash(url + rule_id))).ljust(64, "0")[:64],
        server_ip="127.0.0.1",
        protocol="HTTP/1.1",
        title="T",
        text=text,
    )
    s.add(page)
    s.flush()
    cap = Capture(
        page_id=page.id,
        url=url,
        status=CaptureStatus.SUCCEEDED if capture_ok else CaptureStatus.FAILED,
        started_at=utcnow(),
        finished_at=utcnow(),
        server_ip="127.0.0.1",
        protocol="HTTP/1.1",
        error=None if capture_ok else "page did not load: net::ERR_CONNECTION_REFUSED",
    )
    if capture_ok and store is not None:
        st = store.put(png_for(url))
        cap.artifacts.append(
            Artifact(kind="screenshot_full", media_type="image/png", sha256=st.sha256, size=st.size)
        )
        html = store.put(b"<html><script>alert(1)</script>" + url.encode() + b"</html>")
        cap.artifacts.append(
            Artifact(
                kind="html_rendered",
                media_type="text/html; charset=utf-8",
                sha256=html.sha256,
                size=html.size,
            )
        )
    s.add(cap)
    s.flush()
    det = Detection(
        page_id=page.id,
        capture_id=cap.id,
        rule_id=rule_id,
        rule_version=1,
        rule_fingerprint="f" * 64,
        rule_title={"kk": "Ереже", "ru": "Правило"},
        violation_type=vtype,
        violation_type_title=TITLES[vtype],
        legal_norm=NORMS[vtype],
        severity="high",
        score=3.0,
        spans=[
            {
                "scope": "text",
                "start": 0,
                "end": 13,
                "text": text[:13],
                "term": "онлайн-казино",
                "before": "",
                "after": text[13:],
            }
        ],
    )
    s.add(det)
    s.flush()
    return det


def officer(
    s: Session, username: str = "officer1", password: str = "correct horse battery"
) -> User:
    return create_user(s, username, password, role=Role.OFFICER, full_name="Әсел Құрманғазықызы")
