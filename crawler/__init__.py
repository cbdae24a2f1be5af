"""The Scrapy project: spiders fetch pages, pipelines store them, run rules, queue captures."""

from __future__ import annotations

import os

# tldextract (used by Scrapy's cookie handling) would fetch the public suffix list on
# first use; this machine may be offline, so use the bundled snapshot only.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
