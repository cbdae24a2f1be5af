"""The baseline: a bare Scrapy spider following same-site links, storing nothing.

Like kuzet's spider it skips URLs it has already scheduled before building a Request, so
the comparison measures what kuzet adds (storing, analysis, rules), not dedupe strategy.

``python -m bench.bare URL`` crawls everything reachable from URL and prints
``PAGES <n> SECONDS <s>``. Settings come as NAME=VALUE arguments after the URL.
"""

from __future__ import annotations

import sys
import time
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, url: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.netloc = urlsplit(url).netloc
        self.links = LinkExtractor()
        self.seen: set[str] = {url}

    async def start(self):  # type: ignore[no-untyped-def]
        yield scrapy.Request(self.url)

    def parse(self, response):  # type: ignore[no-untyped-def]
        yield {"url": response.url, "size": len(response.body)}
        for link in self.links.extract_links(response):
            if urlsplit(link.url).netloc == self.netloc and link.url not in self.seen:
                self.seen.add(link.url)
                yield response.follow(link.url, self.parse)


def main() -> None:
    url, pairs = sys.argv[1], sys.argv[2:]
    settings = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
    }
    for pair in pairs:
        name, _, value = pair.partition("=")
        settings[name] = value
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    started = time.monotonic()
    process.crawl(crawler, url=url)
    process.start()
    pages = crawler.stats.get_value("item_scraped_count", 0)
    print(f"PAGES {pages} SECONDS {time.monotonic() - started:.3f}")


if __name__ == "__main__":
    main()
