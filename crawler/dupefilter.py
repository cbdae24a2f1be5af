"""The local crawl's duplicate filter: every URL once per crawl, except a redirect.

A redirect is fetched even when its target was seen already in this crawl: the
redirecting URL's frontier entry is done only when a page (or a failure) is stored under
it, and Scrapy's filter would drop the redirect silently, leaving that entry pending
for ever and the redirect unrecorded. The target is still marked as seen, so a later
link to it is not fetched again. A redirect loop ends at ``REDIRECT_MAX_TIMES`` and is
recorded as a failed fetch of the URL that started it. (Distributed workers do the
same in :class:`crawler.distributed.Scheduler`.)
"""

from __future__ import annotations

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter


def fetched_even_if_seen(request: Request) -> bool:
    """Whether ``request`` is fetched even when its URL was seen in this crawl: a redirect
    (local crawls here, distributed workers in :class:`crawler.distributed.Scheduler`)."""
    return bool(request.meta.get("redirect_urls"))


class RedirectDupeFilter(RFPDupeFilter):
    def request_seen(self, request: Request) -> bool:
        seen = super().request_seen(request)  # records the fingerprint either way
        return seen and not fetched_even_if_seen(request)
