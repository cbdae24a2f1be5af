"""Status and kind enums; each names its final states."""

from __future__ import annotations

import enum


class CrawlStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    FINAL: frozenset[CrawlStatus]


CrawlStatus.FINAL = frozenset({CrawlStatus.SUCCEEDED, CrawlStatus.FAILED})


class FetchStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    # The item vanished since the previous crawl (a deleted Telegram post).
    DELETED = "deleted"


class AnalysisStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to analyse (failed fetch, deleted item)

    FINAL: frozenset[AnalysisStatus]


AnalysisStatus.FINAL = frozenset(
    {AnalysisStatus.DONE, AnalysisStatus.FAILED, AnalysisStatus.SKIPPED}
)


class FrontierStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DetectionStatus(enum.StrEnum):
    PENDING = "pending"
    NEEDS_INFO = "needs_info"  # the officer asked for more before deciding (still open)
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    FINAL: frozenset[DetectionStatus]


DetectionStatus.FINAL = frozenset({DetectionStatus.CONFIRMED, DetectionStatus.REJECTED})


class CaptureStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # a transient failure; due again at ``retry_at``
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    FINAL: frozenset[CaptureStatus]


CaptureStatus.FINAL = frozenset({CaptureStatus.SUCCEEDED, CaptureStatus.FAILED})


class NoticeStatus(enum.StrEnum):
    """draft → signed (locked) → sent → removed, or still available → restricted.
    A signed notice is never edited: a change makes a new draft that supersedes it."""

    DRAFT = "draft"
    SIGNED = "signed"
    SENT = "sent"
    REMOVED = "removed"  # every fact's content was taken down
    STILL_AVAILABLE = "still_available"  # a re-check found a fact still online
    RESTRICTED = "restricted"  # access restricted by the authorised body
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # replaced by a newer draft before it was sent

    FINAL: frozenset[NoticeStatus]
    LOCKED: frozenset[NoticeStatus]


NoticeStatus.FINAL = frozenset(
    {NoticeStatus.REMOVED, NoticeStatus.RESTRICTED, NoticeStatus.WITHDRAWN, NoticeStatus.SUPERSEDED}
)
NoticeStatus.LOCKED = frozenset(set(NoticeStatus) - {NoticeStatus.DRAFT})


class Role(enum.StrEnum):
    MONITOR = "monitor"
    ANALYST = "analyst"
    OFFICER = "officer"
    HEAD = "head"
    ADMIN = "admin"


class SourceKind(enum.StrEnum):
    SITE = "site"
    FEED = "feed"
    SITEMAP = "sitemap"
    TELEGRAM = "telegram"


class TaskKind(enum.StrEnum):
    CRAWL = "crawl"
    RECHECK = "recheck"


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    FINAL: frozenset[TaskStatus]
    OPEN: frozenset[TaskStatus]


TaskStatus.FINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED})
TaskStatus.OPEN = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})


class RecheckStatus(enum.StrEnum):
    """What the re-checks after a sent notice found for one fact."""

    PENDING = "pending"  # not checked yet
    REMOVED = "removed"  # gone: an error status, or the flagged passage no longer there
    STILL_AVAILABLE = "still_available"

    FINAL: frozenset[RecheckStatus]


RecheckStatus.FINAL = frozenset({RecheckStatus.REMOVED})
