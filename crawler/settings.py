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

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
AUTOTHROTTLE_ENABLED = False

ITEM_PIPELINES = {
    "crawler.pipelines.store_page.StorePagePipeline": 100,
    "crawler.pipelines.evaluate_rules.EvaluateRulesPipeline": 200,
    "crawler.pipelines.queue_capture.QueueCapturePipeline": 300,
}

KUZET_DATABASE_URL = os.environ.get("KUZET_DATABASE_URL", "")
KUZET_RULES_DIR = os.environ.get("KUZET_RULES_DIR", "")

LOG_LEVEL = "INFO"
