"""Crawl benchmark: bare Scrapy vs the full kuzet pipeline (store + analysis + rules).

Serves a generated kk/ru site (``bench.site``) on 127.0.0.1 in its own process, crawls it
with a bare Scrapy spider and then with kuzet under the same Scrapy settings (politeness
off: this measures what kuzet's pipeline costs, not how polite it is), and prints the
figures. kuzet's time runs until every page is stored *and* analysed. Peak RSS is the
largest sum of resident memory of the crawl and analysis processes together.

    python -m bench.crawl [--pages 10000]

Last line: {"bare_pages_per_min", "kuzet_pages_per_min", "ratio", "peak_rss_mb"}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from crawler.runner import run_crawl
from kuzet.config import Settings
from kuzet.db import Database
from kuzet.models import AnalysisStatus, Detection, Page, Source

SCRAPY = {
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
}


def _children_rss_mb(root: int, exclude: set[int]) -> float:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total = 0
    for pid in rss:
        p = pid
        while p and p != root:
            p = parents.get(p, 0)
        if p == root and pid != root and pid not in exclude:
            total += rss[pid]
    return total / 1024


class RssSampler(threading.Thread):
    def __init__(self, exclude: set[int]) -> None:
        super().__init__(daemon=True)
        self.exclude = exclude
        self.peak = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _children_rss_mb(os.getpid(), self.exclude))
            time.sleep(0.2)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10_000)
    args = parser.parse_args()

    site = subprocess.Popen(
        [sys.executable, "-m", "bench.site", "--pages", str(args.pages)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(site.stdout.readline().split()[1])  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/"

        # Both figures are wall time from launching the processes to the last page done.
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "bench.bare", url, *(f"{k}={v}" for k, v in SCRAPY.items())],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        bare_pages, bare_s = int(out[1]), time.monotonic() - started
        bare_rate = bare_pages / bare_s * 60
        print(
            f"bare Scrapy: {bare_pages} pages in {bare_s:.1f} s = {bare_rate:.0f}/min", flush=True
        )

        home = Path(tempfile.mkdtemp(prefix="kuzet-bench-"))
        settings = Settings.from_env({"KUZET_HOME": str(home)})
        db = Database.from_settings(settings)
        with db.session() as s:
            s.add(
                Source(
                    name="bench",
                    start_url=url,
                    max_depth=10_000,
                    max_pages=args.pages + 10,
                    allow_private=True,
                )
            )
        sampler = RssSampler(exclude={site.pid})
        sampler.start()
        started = time.monotonic()
        result = run_crawl(settings, db, log_level="WARNING", scrapy_settings=SCRAPY)
        kuzet_s = time.monotonic() - started
        peak = sampler.stop()
        if result.errors:
            raise SystemExit(f"kuzet crawl failed: {result.errors}")
        with db.session() as s:
            pages = s.scalar(select(func.count(Page.id))) or 0
            analysed = s.scalar(
                select(func.count(Page.id)).where(Page.analysis_status == AnalysisStatus.DONE)
            )
            detections = s.scalar(select(func.count(Detection.id)))
        kuzet_rate = pages / kuzet_s * 60
        print(
            f"kuzet: {pages} pages ({analysed} analysed, {detections} detections) in "
            f"{kuzet_s:.1f} s = {kuzet_rate:.0f}/min; peak RSS {peak:.0f} MB",
            flush=True,
        )
    finally:
        site.terminate()
        site.wait()
    print(
        json.dumps(
            {
                "bare_pages_per_min": round(bare_rate),
                "kuzet_pages_per_min": round(kuzet_rate),
                "ratio": round(kuzet_rate / bare_rate, 3),
                "peak_rss_mb": round(peak),
            }
        )
    )


if __name__ == "__main__":
    main()
