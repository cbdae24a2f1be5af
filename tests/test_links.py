from __future__ import annotations

from pathlib import Path

from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.links import LinkFinder

REAL = Path(__file__).parent / "sample_data/realpages/tengrinews.kz_tag-almaty_raw_2023.html"


def _response(body: str, url: str = "https://example.kz/news/a.html") -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode(), encoding="utf-8")


def test_resolves_filters_and_makes_urls_safe() -> None:
    page = _response(
        """<html><head><base href="https://example.kz/kk/"></head><body>
        <a href="  article/1.html#comments ">one</a>
        <a href="/фото/галерея">cyrillic path</a>
        <area href="map.html">
        <a href="mailto:editor@example.kz">mail</a>
        <a href="javascript:void(0)">js</a>
        <a href="files/report.PDF">pdf</a>
        <a href="img/photo.jpg">jpg</a>
        <a href="">empty</a><a>none</a>
        <a href="https://other.kz/x">other site</a>
        </body></html>"""
    )
    assert LinkFinder().new_links(page) == [
        "https://example.kz/kk/article/1.html",
        "https://example.kz/%D1%84%D0%BE%D1%82%D0%BE/%D0%B3%D0%B0%D0%BB%D0%B5%D1%80%D0%B5%D1%8F",
        "https://example.kz/kk/map.html",
        "https://other.kz/x",
    ]


def test_a_link_is_handed_out_once_across_pages() -> None:
    finder = LinkFinder()
    menu = '<a href="/">home</a><a href="/news">news</a>'
    first = finder.new_links(_response(menu + '<a href="/news/1">1</a>'))
    second = finder.new_links(_response(menu + '<a href="/news/2">2</a><a href="/news/2">2</a>'))
    assert first == ["https://example.kz/", "https://example.kz/news", "https://example.kz/news/1"]
    assert second == ["https://example.kz/news/2"]


def test_memory_is_bounded() -> None:
    finder = LinkFinder(memory=2)
    body = '<a href="/1">1</a><a href="/2">2</a><a href="/3">3</a>'
    assert len(finder.new_links(_response(body))) == 3
    # Over its memory the finder starts again rather than growing without limit.
    assert len(finder.new_links(_response(body))) == 3


def test_same_links_as_scrapy_link_extractor_on_a_real_news_page() -> None:
    page = HtmlResponse(
        url="https://tengrinews.kz/tag/almaty/", body=REAL.read_bytes(), encoding="utf-8"
    )
    expected = {link.url.split("#")[0] for link in LinkExtractor().extract_links(page)}
    found = LinkFinder().new_links(page)
    assert len(found) == len(set(found)) > 50
    assert set(found) == expected
