"""Scrapy settings for kuzet crawls. Per-source limits are spider arguments, not settings."""

from __future__ import annotations

import os

BOT_NAME = "kuzet"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "Mozilla/5.0 (compatible; kuzet/0.1; +monitoring)"
ROBOTSTXT_OBEY = True

# A monitoring engine must not expose a console that runs code.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Politeness: a few parallel requests per site, adapted to how fast the site answers.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
# Scrapy starts this many worker tasks for the output of *every* response. Items go to
# one synchronous, batched pipeline, so parallel item handling buys nothing here while
# the default (100) costs ~100 task creations per page.
CONCURRENT_ITEMS = 8
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5
# Every URL once per crawl, but a redirect always: see crawler/dupefilter.py.
DUPEFILTER_CLASS = "crawler.dupefilter.RedirectDupeFilter"
COOKIES_ENABLED = False

RETRY_TIMES = 2
KUZET_RETRY_BACKOFF_BASE = 1.0
KUZET_RETRY_BACKOFF_MAX = 60.0

DOWNLOADER_MIDDLEWARES = {
    # First: the route (proxy or browser) decides how the SSRF guard sees a request.
    "crawler.middlewares.route.SourceRouteMiddleware": 40,
    "crawler.middlewares.ssrf.SSRFGuardMiddleware": 50,
    # Distributed workers only: after the guard, so a refused request books no time.
    "crawler.middlewares.host_pace.HostPaceMiddleware": 60,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,  # replaced by backoff
    "crawler.middlewares.backoff.BackoffRetryMiddleware": 550,
}
KUZET_SSRF_ENABLED = True

SPIDER_MIDDLEWARES = {
    # Nearest the engine: sees every request the others let through.
    "crawler.middlewares.leases.LeaseMiddleware": 10,
    "crawler.middlewares.spider_errors.SpiderErrorsMiddleware": 50,
}

# The crawl log never shows a URL's password (a proxy's, Redis's).
EXTENSIONS = {"kuzet.redact.LogRedaction": 0}

ITEM_PIPELINES = {
    "crawler.pipelines.image_hashes.ImageHashPipeline": 50,
    "crawler.pipelines.store_page.StorePagePipeline": 100,
}
KUZET_IMAGE_HASHES = "auto"  # on when an enabled rule has an image_phash condition
KUZET_IMAGE_HASHES_MAX_PER_PAGE = 8
KUZET_IMAGE_HASHES_MAX_BYTES = 5_000_000
KUZET_STORE_BATCH_SIZE = 100
KUZET_STORE_BATCH_SECONDS = 1.0

KUZET_DATABASE_URL = os.environ.get("KUZET_DATABASE_URL", "")
KUZET_RULES_DIR = os.environ.get("KUZET_RULES_DIR", "")
KUZET_HOME = os.environ.get("KUZET_HOME", "")
KUZET_PROXY = os.environ.get("KUZET_PROXY", "")
KUZET_REDIS_URL = os.environ.get("KUZET_REDIS_URL", "")
KUZET_CRAWL_WORKER_TTL_S = int(os.environ.get("KUZET_CRAWL_WORKER_TTL_S", "30"))
KUZET_CHROMIUM = os.environ.get("KUZET_CHROMIUM", "/usr/lib/chromium/chromium")
KUZET_CHROMIUM_SANDBOX = os.environ.get("KUZET_CHROMIUM_SANDBOX", "auto")
KUZET_LANG = os.environ.get("KUZET_LANG", "kk")

LOG_LEVEL = "INFO"
