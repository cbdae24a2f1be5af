"""Capture benchmark: full kuzet captures vs the bare limit of the same browser.

Serves long kk/ru articles with lazily loaded photos (``bench.site --tall``) from its own
process on 127.0.0.1, then, at the same concurrency:

- bare: one reused Chromium, a pool of reused pages, each doing only ``goto`` and one
  full-page screenshot;
- kuzet throughput: the same pages queued as captures of flagged pages (a detection each,
  so the matched passage is outlined) and run by ``run_captures``: every artifact, WARC
  and WACZ, manifest, hashes, fsync, custody log;
- time to evidence: the capture worker running while hits arrive at 80 % of the measured
  throughput; for each, the time from the detection's creation to the stored manifest.

Peak RSS is the largest resident memory of the browser pool (Playwright's driver and
Chromium's processes) during the kuzet phases, summed as proportional set sizes (a page
shared by several processes is divided among them, not counted once per process); the
figure with this Python process added is printed too.

    python -m bench.capture [--pages 100] [--concurrency 2]

Last line: {"kuzet_captures_per_min", "bare_shots_per_min", "ratio", "tte_p50_s",
"tte_p95_s", "peak_rss_mb"}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.async_api import async_playwright
from sqlalchemy import select

from bench.site import CASINO
from evidence.browser import launch
from evidence.capture import VIEWPORT
from evidence.jobs import run_captures, run_worker
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import Capture, CaptureStatus, CrawlRun, Detection, FetchStatus, Page, Source

PASSAGE = CASINO.split(":")[0]  # "Онлайн-казино Vulkan", outlined on every page


def serve(pages: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.site", "--pages", str(pages), "--tall"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


class RssSampler(threading.Thread):
    """Largest memory of this process's descendants (the browser pool: Playwright's driver
    and Chromium's processes), and of them with this process, sampled every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.peak_all_kb = 0
        self.running = True

    def run(self) -> None:
        me = os.getpid()
        while self.running:
            pool = _tree_rss_kb(me) - _pss_kb(me)
            self.peak_kb = max(self.peak_kb, pool)
            self.peak_all_kb = max(self.peak_all_kb, pool + _pss_kb(me))
            time.sleep(0.2)


def _tree_rss_kb(root: int) -> int:
    """Memory of a process tree: the sum of each process's proportional set size (shared
    pages divided among the processes sharing them, so none is counted twice)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kb(pid)
        stack += children.get(pid, [])
    return total


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def bare(settings: Settings, urls: list[str], concurrency: int) -> float:
    """Seconds for the bare limit: goto + one full-page screenshot per URL."""
    async with async_playwright() as pw:
        browser = await launch(pw, settings)
        context = await browser.new_context(viewport=VIEWPORT)
        pages = [await context.new_page() for _ in range(concurrency)]
        queue: asyncio.Queue[str] = asyncio.Queue()
        for url in urls:
            queue.put_nowait(url)

        async def worker(page) -> None:  # type: ignore[no-untyped-def]
            while not queue.empty():
                url = queue.get_nowait()
                await page.goto(url, wait_until="load")
                await page.screenshot(full_page=True, type="png")

        started = time.perf_counter()
        await asyncio.gather(*(worker(p) for p in pages))
        took = time.perf_counter() - started
        await browser.close()
        return took


def flag(db: Database, urls: list[str]) -> list[int]:
    """Pages as analysis leaves them: stored, a detection each, a capture queued."""
    ids = []
    with db.session() as s:
        src = s.scalars(select(Source).where(Source.name == "bench")).first()
        if src is None:
            src = Source(name="bench", start_url=urls[0], allow_private=True)
            s.add(src)
            s.flush()
        run = CrawlRun(source_id=src.id)
        s.add(run)
        s.flush()
        for url in urls:
            page = Page(source_id=src.id, crawl_run_id=run.id, url=url, fetch_status=FetchStatus.OK)
            s.add(page)
            s.flush()
            s.add(
                Detection(
                    page_id=page.id,
                    rule_id="gambling.casino.ru",
                    rule_version=1,
                    rule_fingerprint="0" * 64,
                    violation_type="online_gambling",
                    legal_norm={"kk": "—", "ru": "—"},
                    severity="high",
                    score=2.0,
                    spans=[{"scope": "text", "start": 0, "end": 0, "text": PASSAGE, "term": ""}],
                )
            )
            cap = Capture(page_id=page.id, url=url)
            s.add(cap)
            s.flush()
            ids.append(cap.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    server, base = serve(args.pages)
    home = Path(tempfile.mkdtemp(prefix="kuzet-bench-capture-"))
    settings = Settings.from_env(
        {
            **os.environ,
            "KUZET_HOME": str(home),
            "KUZET_CAPTURE_CONCURRENCY": str(args.concurrency),
        }
    )
    db = Database.from_settings(settings)
    urls = [f"{base}/p/{i}.html" for i in range(args.pages)]
    try:
        bare_s = asyncio.run(bare(settings, urls, args.concurrency))
        bare_rate = len(urls) * 60 / bare_s
        print(f"bare: {len(urls)} shots in {bare_s:.1f} s = {bare_rate:.0f}/min", flush=True)

        sampler = RssSampler()
        sampler.start()
        ids = flag(db, urls)
        started = time.perf_counter()
        summary = run_captures(settings, db, ids)
        kuzet_s = time.perf_counter() - started
        kuzet_rate = summary.succeeded * 60 / kuzet_s
        print(
            f"kuzet: {summary.succeeded} captures ({summary.failed} failed) in {kuzet_s:.1f} s"
            f" = {kuzet_rate:.0f}/min",
            flush=True,
        )

        # Time to evidence: hits arrive steadily at 80 % of that throughput.
        stop = asyncio.Event()
        worker = threading.Thread(
            target=run_worker, args=(settings, db, stop), kwargs={"poll_s": 0.2}, daemon=True
        )
        worker.start()
        gap = 60 / (0.8 * kuzet_rate)
        tte_ids: list[int] = []
        for url in urls:
            tte_ids += flag(db, [url])
            time.sleep(gap)
        deadline = time.monotonic() + 120 + settings.capture_timeout_s * 3
        while time.monotonic() < deadline:
            with db.session() as s:
                left = s.scalars(
                    select(Capture.id).where(
                        Capture.id.in_(tte_ids), Capture.status.not_in(CaptureStatus.FINAL)
                    )
                ).all()
            if not left:
                break
            time.sleep(0.5)
        stop.set()  # read by the worker's loop at its next poll
        worker.join(timeout=60)
        sampler.running = False
        with db.session() as s:
            rows = s.execute(
                select(Capture.finished_at, Detection.created_at, Capture.status)
                .join(Detection, Detection.page_id == Capture.page_id)
                .where(Capture.id.in_(tte_ids))
            ).all()
        tte = sorted(
            (done - hit).total_seconds()
            for done, hit, status in rows
            if status == CaptureStatus.SUCCEEDED
        )
        p50 = statistics.median(tte)
        p95 = tte[min(len(tte) - 1, round(0.95 * (len(tte) - 1)))]
        print(f"time to evidence ({len(tte)} captures): p50 {p50:.1f} s, p95 {p95:.1f} s")
        peak_mb = sampler.peak_kb / 1024
        print(
            f"peak memory (PSS): browser pool {peak_mb:.0f} MB, "
            f"with this process {sampler.peak_all_kb / 1024:.0f} MB"
        )
        print(
            json.dumps(
                {
                    "kuzet_captures_per_min": round(kuzet_rate, 1),
                    "bare_shots_per_min": round(bare_rate, 1),
                    "ratio": round(kuzet_rate / bare_rate, 3),
                    "tte_p50_s": round(p50, 2),
                    "tte_p95_s": round(p95, 2),
                    "peak_rss_mb": round(peak_mb),
                }
            )
        )
    finally:
        server.terminate()
        db.dispose()


if __name__ == "__main__":
    main()
