"""Operations: kuzet status, /metrics, kuzet doctor, JSON logs, the scheduler process
started for real and stopped with SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from evidence.store import LocalArtifactStore
from kuzet.cli import app as cli
from kuzet.db import utcnow
from kuzet.models import ProcessLock, Source, Task, TaskKind, TaskStatus
from review.app import create_app
from scheduler.ops import setup_logging
from tests.factories import detection


def test_status_lists_queues_sources_and_failures(settings, db) -> None:
    with db.session() as s:
        src = Source(name="tengri", start_url="http://127.0.0.1:9/", schedule="every 6h")
        s.add(src)
        s.flush()
        s.add(Task(kind=TaskKind.CRAWL, source_id=src.id, status=TaskStatus.QUEUED))
        s.add(
            Task(
                kind=TaskKind.CRAWL, source_id=src.id, status=TaskStatus.FAILED,
                error="crawl exited 1: DNS lookup failed", finished_at=utcnow(),
            )
        )  # fmt: skip
    r = CliRunner().invoke(cli, ["status"], env=settings.to_env())
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "tengri" in out and "every 6h" in out
    assert "failures in the last 24 h: 1" in out and "DNS lookup failed" in out
    assert "scheduler: not running" in out


def test_metrics_in_prometheus_format(settings, db) -> None:
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        detection(s, store, "http://127.0.0.1:9/a")
        detection(s, store, "http://127.0.0.1:9/b")
    client = TestClient(create_app(settings, db), client=("127.0.0.1", 50000))  # local
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE kuzet_capture_seconds histogram" in text
    assert 'kuzet_detections_total{status="pending"} 2' in text
    assert "kuzet_capture_seconds_count 2" in text
    assert 'kuzet_queue_depth{queue="capture"} 0' in text
    # every sample line is "name{labels} value" or "name value"
    for line in text.splitlines():
        if not line.startswith("#"):
            _name, value = line.rsplit(" ", 1)
            float(value)
    assert client.get("/healthz").json() == {"status": "ok"}


def test_doctor_passes_then_names_the_broken_evidence(settings, db, chromium) -> None:
    store = LocalArtifactStore(settings.evidence_dir)
    r = CliRunner().invoke(cli, ["doctor"], env=settings.to_env())
    assert r.exit_code == 0, r.output
    for name in ("browser", "fonts", "database", "disk", "evidence"):
        assert f"ok {name}" in r.output
    assert "ok rules: Hyperscan, compiled fold" in r.output
    with db.session() as s:
        sha = detection(s, store, "http://127.0.0.1:9/a").capture.artifacts[0].sha256
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    r = CliRunner().invoke(cli, ["doctor"], env=settings.to_env())
    assert r.exit_code == 1
    assert "FAIL evidence" in r.output


def test_json_logs(capsys) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging(True)
    try:
        logging.getLogger("kuzet.test").warning("Бет %(n)s", {"n": 1})
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["message"] == "Бет 1"
    assert record["logger"] == "kuzet.test"


def test_scheduler_process_starts_and_stops_on_sigterm(settings, db) -> None:
    env = {**os.environ, **settings.to_env(), "KUZET_LOG_JSON": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuzet", "scheduler", "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        held = None
        while time.monotonic() < deadline and held is None:
            with db.session() as s:
                held = s.get(ProcessLock, "scheduler")
            time.sleep(0.2)
        assert held is not None and held.pid == proc.pid
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert any(json.loads(line)["message"] == "Scheduler started" for line in err.splitlines()
               if line.startswith("{"))  # fmt: skip
    with db.session() as s:
        assert s.get(ProcessLock, "scheduler") is None  # released on the way out
        assert s.execute(select(1)).scalar() == 1


@pytest.mark.parametrize("command", [["captures", "work"], ["worker", "capture"]])
def test_capture_worker_finishes_its_capture_on_sigterm(settings, db, chromium, command) -> None:
    from kuzet.models import Capture, CaptureStatus
    from tests.webserver import WebServer, html

    with WebServer({"/": html("<p>Баяу бет</p>")}, delay=3.0) as site:
        with db.session() as s:
            cap = Capture(url=site.url + "/")
            s.add(cap)
            s.flush()
            cap_id = cap.id
        env = {**os.environ, **settings.to_env()}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kuzet", *command],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            state = None
            while time.monotonic() < deadline and state != CaptureStatus.RUNNING:
                with db.session() as s:
                    state = s.get(Capture, cap_id).status
                time.sleep(0.1)
            assert state == CaptureStatus.RUNNING
            proc.send_signal(signal.SIGTERM)  # mid-capture: the page is still loading
            out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "1 succeeded" in out
    with db.session() as s:
        assert s.get(Capture, cap_id).status == CaptureStatus.SUCCEEDED


def test_worker_kinds(settings, db) -> None:
    env = settings.to_env()
    r = CliRunner().invoke(cli, ["worker", "recheck", "--once"], env=env)
    assert r.exit_code == 0 and "tasks run: 0" in r.output
    r = CliRunner().invoke(cli, ["worker", "crawl", "capture"], env=env)
    assert r.exit_code == 1 and "process of its own" in r.output
    r = CliRunner().invoke(cli, ["worker", "scrape"], env=env)
    assert r.exit_code == 1 and "crawl, recheck, capture" in r.output
