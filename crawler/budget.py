"""A crawl run's page limit (``Source.max_pages``), kept where everything crawling the run
can see it: in the spider for a local crawl, in Redis for distributed crawl workers
(:class:`crawler.distributed.RedisBudget`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class PageBudget(ABC):
    """How many more URLs a crawl run may take on.

    :meth:`admit` answers, in order, which of ``urls`` may be crawled. A URL admitted
    before always may (it costs nothing again); a new one may while fewer than ``limit``
    URLs have been admitted in the run, and is then counted. Everything crawling the run
    shares one budget, and the count never passes ``limit`` however many admit at once.
    """

    @abstractmethod
    def admit(self, urls: Sequence[str], limit: int) -> list[bool]: ...


class LocalBudget(PageBudget):
    """The limit of a run crawled by one spider, kept in a set of the spider's."""

    def __init__(self, admitted: set[str]) -> None:
        self.admitted = admitted

    def admit(self, urls: Sequence[str], limit: int) -> list[bool]:
        out = []
        for url in urls:
            if url not in self.admitted and len(self.admitted) < limit:
                self.admitted.add(url)
            out.append(url in self.admitted)
        return out
