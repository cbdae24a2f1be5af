"""Database models: one table per stage of source → crawl → page → detection →
capture → review → notice, split by stage into the modules of this package.

Status enums name their final states explicitly; a row in a final state is never
moved back (a retry is a new attempt recorded on the same row only while it is not final).
"""

from __future__ import annotations

from kuzet.models.accounts import AuditEvent, LoginThrottle, User, WebSession
from kuzet.models.base import Base
from kuzet.models.crawl import CrawlRun, FrontierEntry, Page, PageBody, Source
from kuzet.models.custody import AccessLogEntry, CustodyCheckpoint, CustodyHead
from kuzet.models.detection import Detection
from kuzet.models.enums import (
    AnalysisStatus,
    CaptureStatus,
    CrawlStatus,
    DetectionStatus,
    FetchStatus,
    FrontierStatus,
    NoticeStatus,
    RecheckStatus,
    Role,
    SourceKind,
    TaskKind,
    TaskStatus,
)
from kuzet.models.evidence import Artifact, Capture
from kuzet.models.notice import Notice, NoticeFact
from kuzet.models.ops import Alert, ProcessLock, Task

__all__ = [
    "AccessLogEntry",
    "Alert",
    "AnalysisStatus",
    "Artifact",
    "AuditEvent",
    "Base",
    "Capture",
    "CaptureStatus",
    "CrawlRun",
    "CrawlStatus",
    "CustodyCheckpoint",
    "CustodyHead",
    "Detection",
    "DetectionStatus",
    "FetchStatus",
    "FrontierEntry",
    "FrontierStatus",
    "LoginThrottle",
    "Notice",
    "NoticeFact",
    "NoticeStatus",
    "Page",
    "PageBody",
    "ProcessLock",
    "RecheckStatus",
    "Role",
    "Source",
    "SourceKind",
    "Task",
    "TaskKind",
    "TaskStatus",
    "User",
    "WebSession",
]
