"""``kuzet demo``: the whole path against bundled local sites.

crawl → rules → capture → (demo officer confirms) → draft notices → JSON + PDF, then a
summary table and ``$KUZET_HOME/demo/summary.json``.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crawler.runner import run_crawl
from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from kuzet import audit
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import (
    Capture,
    CaptureStatus,
    CrawlRun,
    Detection,
    DetectionStatus,
    FetchStatus,
    Page,
    Role,
    Source,
    User,
)
from kuzet.secretfile import write_secret
from kuzet.sites import SiteServer, demo_server
from kuzet.users import create_user
from notices.builder import build_drafts
from notices.export import render_notice, write_atomically
from review.decisions import decide
from rules.loader import load_rules

DEMO_OFFICER = "demo-officer"
DEMO_AUTHORITY = "Қазақстан Республикасы Мәдениет және ақпарат министрлігі (демо)"


@dataclass
class DemoResult:
    pages: int = 0
    failed_fetches: int = 0
    detections: dict[str, int] = field(default_factory=dict)
    captures_succeeded: int = 0
    captures_failed: int = 0
    notices: list[dict[str, Any]] = field(default_factory=list)
    officer: str = DEMO_OFFICER
    officer_password: str = ""
    summary_path: Path | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "failed_fetches": self.failed_fetches,
            "detections": self.detections,
            "captures": {"succeeded": self.captures_succeeded, "failed": self.captures_failed},
            "notices": self.notices,
        }


def demo_officer(db: Database, demo_dir: Path) -> tuple[str, str]:
    """The demo officer's credentials, created once and kept in the demo folder."""
    cred_file = demo_dir / "officer.json"
    with db.session() as session:
        exists = session.scalar(select(User.id).where(User.username == DEMO_OFFICER))
        if exists and cred_file.exists():
            creds = json.loads(cred_file.read_text())
            return creds["username"], creds["password"]
        password = secrets.token_urlsafe(12)
        if exists:
            from kuzet.users import set_password

            user = session.scalars(select(User).where(User.username == DEMO_OFFICER)).one()
            set_password(session, user, password, actor="kuzet demo")
        else:
            create_user(
                session,
                DEMO_OFFICER,
                password,
                role=Role.OFFICER,
                full_name="Демо Офицер",
                position="Бас маман (демо)",
                actor="kuzet demo",
            )
    creds = json.dumps({"username": DEMO_OFFICER, "password": password})
    write_secret(cred_file, creds.encode())  # 0600 from the start, in a 0700 folder
    return DEMO_OFFICER, password


def register_sources(db: Database, server: SiteServer) -> list[str]:
    names = []
    with db.session() as session:
        for site, url in server.urls.items():
            name = f"demo-{site}"
            source = session.scalars(select(Source).where(Source.name == name)).first()
            if source is None:
                source = Source(name=name, start_url=url)
                session.add(source)
            # Ports change on every run; the demo sources follow them.
            source.start_url = url
            source.allow_private = True
            source.max_depth = 3
            source.max_pages = 100
            names.append(name)
    return names


def run_demo(settings: Settings, db: Database, server: SiteServer | None = None) -> DemoResult:
    load_rules(settings.rules_dir)  # fail before starting anything if a pack is invalid
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    own_server = server is None
    server = server or demo_server().start()
    try:
        names = register_sources(db, server)
        crawl = run_crawl(settings, db, names)
        with db.session() as session:
            page_ids = list(
                session.scalars(select(Page.id).where(Page.crawl_run_id.in_(crawl.run_ids)))
            )
            capture_ids = list(
                session.scalars(
                    select(Capture.id).where(
                        Capture.page_id.in_(page_ids), Capture.status == CaptureStatus.QUEUED
                    )
                )
            )
        run_captures(settings, db, capture_ids)
    finally:
        if own_server:
            server.stop()

    result = DemoResult()
    result.officer, result.officer_password = demo_officer(db, demo_dir)
    with db.session() as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.id.in_(crawl.run_ids))).all()
        result.pages = sum(int(r.stats.get("kuzet/pages/fetched", 0)) for r in runs)
        result.failed_fetches = len(
            session.scalars(
                select(Page.id).where(
                    Page.crawl_run_id.in_(crawl.run_ids), Page.fetch_status == FetchStatus.FAILED
                )
            ).all()
        )
        detections = session.scalars(
            select(Detection).where(Detection.page_id.in_(page_ids)).order_by(Detection.id)
        ).all()
        result.detections = dict(sorted(Counter(d.violation_type for d in detections).items()))
        captures = session.scalars(select(Capture).where(Capture.page_id.in_(page_ids))).all()
        result.captures_succeeded = sum(c.status == CaptureStatus.SUCCEEDED for c in captures)
        result.captures_failed = sum(c.status == CaptureStatus.FAILED for c in captures)

        officer = session.scalars(select(User).where(User.username == result.officer)).one()
        for det in detections:
            if det.status == DetectionStatus.PENDING:
                decide(session, det, user=officer, confirm=True, via="kuzet demo")
        audit.record(
            session,
            action="demo.auto_confirmed",
            object_type="crawl_run",
            object_id=",".join(map(str, crawl.run_ids)),
            user=officer,
            details={
                "note": "detections confirmed automatically by the demo officer",
                "detections": [d.id for d in detections],
            },
        )
        built = build_drafts(session, authority=settings.authority or DEMO_AUTHORITY, user=officer)
        notice_ids = [n.id for n in built.notices]

    store = LocalArtifactStore(settings.evidence_dir)
    out_dir = demo_dir / "notices"
    with db.session() as session:
        for nid in notice_ids:
            paths = {}
            for fmt in ("json", "pdf"):
                path = out_dir / f"notice-{nid}.{fmt}"
                write_atomically(path, render_notice(session, store, nid, fmt))
                paths[fmt] = str(path)
            result.notices.append({"id": nid, **paths})
    result.summary_path = demo_dir / "summary.json"
    write_atomically(
        result.summary_path,
        (json.dumps(result.as_json(), ensure_ascii=False, indent=2) + "\n").encode(),
    )
    return result
