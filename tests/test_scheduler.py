"""The scheduler on a controllable clock: schedules fire when they should, misfires
coalesce, overlapping runs are skipped, one scheduler at a time, and re-checks after a
notice is sent decide removed / still available against a local site."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import apscheduler.executors.base as aps_executors
import apscheduler.schedulers.base as aps_base
import apscheduler.triggers.interval as aps_interval
import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import select, update
from typer.testing import CliRunner

from evidence.store import LocalArtifactStore
from kuzet import procs
from kuzet.cli import app as cli
from kuzet.models import (
    Alert,
    DetectionStatus,
    Notice,
    NoticeStatus,
    ProcessLock,
    RecheckStatus,
    Source,
    Task,
    TaskKind,
    TaskStatus,
)
from notices.builder import build_drafts
from notices.signing import mark_sent
from scheduler import jobs, lock, service
from scheduler.triggers import ScheduleError, parse
from scheduler.worker import run_worker
from tests.factories import detection
from tests.webserver import WebServer, html

pytestmark = pytest.mark.both_databases


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


class ManualScheduler(BaseScheduler):
    """APScheduler's own logic, driven by the test instead of a thread and a timer."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def tick(self) -> None:
        self._process_jobs()


_clock: Clock | None = None


class FakeDatetime(datetime):
    """``datetime`` as APScheduler sees it in these tests: now() is the test's clock.
    Module-level, so job state that holds one still pickles."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        assert _clock is not None
        return _clock.at.astimezone(tz) if tz else _clock.at.replace(tzinfo=None)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    global _clock
    _clock = Clock(datetime(2026, 11, 23, 0, 1, tzinfo=UTC))
    for module in (aps_base, aps_interval, aps_executors):
        monkeypatch.setattr(module, "datetime", FakeDatetime)
    return _clock


@pytest.fixture
def sched(settings, db, clock):
    s = service.build(
        settings, db, scheduler_cls=ManualScheduler, clock=clock,
        executors={"default": DebugExecutor()},
    )  # fmt: skip
    s.start()
    yield s
    s.shutdown(wait=False)


def crawl_tasks(db, source_id: int) -> list[Task]:
    with db.session() as s:
        rows = s.scalars(
            select(Task).where(Task.kind == TaskKind.CRAWL, Task.source_id == source_id)
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def finish_all(db) -> None:
    with db.session() as s:
        s.execute(update(Task).values(status=TaskStatus.SUCCEEDED))


def source(db, schedule: str, name: str = "news") -> int:
    with db.session() as s:
        src = Source(name=name, start_url="http://127.0.0.1:9/", schedule=schedule)
        s.add(src)
        s.flush()
        return src.id


def test_schedules_fire_at_their_times_and_overlaps_are_skipped(db, sched, clock) -> None:
    sid = source(db, "*/30 * * * *")
    assert service.sync_sources(sched, db) == {"crawl:news": "*/30 * * * *"}
    clock.advance(minutes=28)  # 00:29
    sched.tick()
    assert crawl_tasks(db, sid) == []
    clock.advance(minutes=1)  # 00:30
    sched.tick()
    tasks = crawl_tasks(db, sid)
    assert [t.due_at for t in tasks] == [clock.at]
    # 01:00 while the 00:30 crawl is still queued: skipped, not stacked.
    clock.advance(minutes=30)
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 1
    finish_all(db)
    clock.advance(minutes=30)  # 01:30
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 2


def test_misfires_coalesce_into_one_run(db, sched, clock, settings) -> None:
    sid = source(db, "every 15m")
    service.sync_sources(sched, db)
    # The scheduler was down for 50 minutes: three runs were missed; one runs.
    clock.advance(minutes=50)
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 1
    finish_all(db)
    clock.advance(minutes=15)
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 2


def test_a_run_missed_by_more_than_the_grace_is_skipped(db, sched, clock, settings) -> None:
    assert settings.misfire_grace_s == 3600
    sid = source(db, "0 3 * * *")  # daily at 03:00
    service.sync_sources(sched, db)
    clock.at = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # down from 00:01 to 04:30
    sched.tick()
    assert crawl_tasks(db, sid) == []  # 1 h 30 min late: not run late
    assert sched.get_job("crawl:news").next_run_time == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    clock.at = datetime(2026, 11, 24, 3, 40, tzinfo=UTC)  # 40 min late: still runs, once
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 1


def test_schedule_changes_are_picked_up(db, sched, clock, settings) -> None:
    sid = source(db, "every 1h")
    service.sync_sources(sched, db)
    r = CliRunner().invoke(
        cli, ["sources", "set-schedule", "news", "*/10 * * * *"], env=settings.to_env()
    )
    assert r.exit_code == 0, r.output
    assert service.sync_sources(sched, db) == {"crawl:news": "*/10 * * * *"}
    clock.advance(minutes=10)
    sched.tick()
    assert len(crawl_tasks(db, sid)) == 1
    r = CliRunner().invoke(
        cli, ["sources", "set-schedule", "news", "--clear"], env=settings.to_env()
    )
    assert r.exit_code == 0
    assert service.sync_sources(sched, db) == {}
    assert sched.get_job("crawl:news") is None


def test_bad_schedules_are_refused_by_name() -> None:
    for bad in ("*/30 * * *", "every 10x", "61 * * * *", "every 10s"):
        with pytest.raises(ScheduleError, match=bad.split()[0].replace("*", r"\*")):
            parse(bad)
    assert parse("every 6h").interval == timedelta(hours=6)


def test_jobs_survive_a_restart(db, settings, clock) -> None:
    sid = source(db, "*/30 * * * *")
    first = service.build(settings, db, scheduler_cls=ManualScheduler, clock=clock,
                          executors={"default": DebugExecutor()})  # fmt: skip
    first.start()
    service.sync_sources(first, db)
    first.shutdown(wait=False)
    # A new scheduler process finds the job in the database, with its next run time.
    second = service.build(settings, db, scheduler_cls=ManualScheduler, clock=clock,
                           executors={"default": DebugExecutor()})  # fmt: skip
    second.start()
    job = second.get_job("crawl:news")
    assert job is not None and job.next_run_time == datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    clock.advance(minutes=30)
    second.tick()
    assert len(crawl_tasks(db, sid)) == 1
    second.shutdown(wait=False)


def test_a_second_scheduler_refuses_to_start(db, settings) -> None:
    lock.acquire(db, jobs.LOCK_NAME)
    with pytest.raises(lock.AlreadyRunning, match="already running"):
        lock.acquire(db, jobs.LOCK_NAME)
    env = {**os.environ, **settings.to_env()}
    out = subprocess.run(
        [sys.executable, "-m", "kuzet", "scheduler", "run"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1 and "already running" in out.stderr
    lock.release(db, jobs.LOCK_NAME)
    # A lock left by a process that is gone is taken over.
    with db.session() as s:
        s.add(ProcessLock(name=jobs.LOCK_NAME, host=procs.HOST, pid=2**22 + 12345))
    lock.acquire(db, jobs.LOCK_NAME)
    with db.session() as s:
        assert s.get(ProcessLock, jobs.LOCK_NAME).pid == os.getpid()


def test_rechecks_after_sent_decide_removed_and_still_available(
    settings, db, sched, clock, chromium
) -> None:
    passage = "онлайн-казино Vulkan"
    state = {"keep": True, "gone": True}

    def keep(path, headers):
        if state["keep"]:
            return html(f"<p>{passage}: бонус 200%</p>")(path, headers)
        return html("<p>Бұл бет жойылды</p>")(path, headers)

    def gone(path, headers):
        return html("<p>Not found</p>", status=404)(path, headers)

    store = LocalArtifactStore(settings.evidence_dir)
    with WebServer({"/keep": keep, "/gone": gone}) as site:
        with db.session() as s:
            for path in ("/keep", "/gone"):
                det = detection(s, store, site.url + path, text=passage + " и фриспины")
                det.spans[0]["text"] = passage
                det.status = DetectionStatus.CONFIRMED
            notice = build_drafts(s, authority="Орган").notices[0]
            notice.status = NoticeStatus.SIGNED
            nid = notice.id
        with db.session() as s:
            mark_sent(s, nid, actor="test", first_check_after=timedelta(hours=6))
            sent_at = s.get(Notice, nid).sent_at
        clock.at = sent_at
        # 5 h 59 min later: nothing due yet.
        clock.advance(hours=5, minutes=59)
        assert jobs.enqueue_rechecks() == 0
        clock.advance(minutes=1)
        assert jobs.enqueue_rechecks() == 2
        assert jobs.enqueue_rechecks() == 0  # already queued: not twice
        assert run_worker(settings, db, clock=clock, until_idle=True) == 2
        with db.session() as s:
            notice = s.get(Notice, nid)
            by_url = {f.url.rsplit("/", 1)[1]: f for f in notice.facts}
            assert by_url["gone"].recheck_status == RecheckStatus.REMOVED
            assert by_url["gone"].next_check_at is None
            assert by_url["keep"].recheck_status == RecheckStatus.STILL_AVAILABLE
            assert by_url["keep"].next_check_at == clock.at + timedelta(hours=6)
            assert notice.status == NoticeStatus.STILL_AVAILABLE
            assert by_url["keep"].last_check_capture_id is not None
            alert = s.scalars(select(Alert).where(Alert.kind == "still_available")).one()
            assert by_url["keep"].url in alert.body and f"№{nid}" in alert.subject

        # The site takes the page down; the next turn finds it removed.
        state["keep"] = False
        clock.advance(hours=6)
        assert jobs.enqueue_rechecks() == 1
        assert run_worker(settings, db, clock=clock, until_idle=True) == 1
        with db.session() as s:
            notice = s.get(Notice, nid)
            assert {f.recheck_status for f in notice.facts} == {RecheckStatus.REMOVED}
            assert notice.status == NoticeStatus.REMOVED
            tasks = s.scalars(select(Task).where(Task.kind == TaskKind.RECHECK)).all()
            assert {t.status for t in tasks} == {TaskStatus.SUCCEEDED}
            findings = sorted(t.result["finding"] for t in tasks)
            assert findings == ["removed", "removed", "still_available"]


def test_a_holder_is_gone_when_its_process_is_or_its_lease_ran_out() -> None:
    from datetime import timedelta

    from kuzet.db import utcnow

    now, lease = utcnow(), timedelta(minutes=5)
    fresh, old = now - timedelta(minutes=1), now - timedelta(minutes=10)
    # On this host the process decides, whatever the clock says.
    assert not procs.holder_gone(os.getpid(), procs.HOST, old, lease, now)
    assert procs.holder_gone(2**22 + 12345, procs.HOST, fresh, lease, now)
    # Elsewhere (or no process recorded) the lease decides.
    assert not procs.holder_gone(os.getpid(), "another-host", fresh, lease, now)
    assert procs.holder_gone(os.getpid(), "another-host", old, lease, now)
    assert procs.holder_gone(None, procs.HOST, None, lease, now)
    assert not procs.holder_gone(None, procs.HOST, fresh, lease, now)
