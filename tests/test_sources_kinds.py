"""One test per source kind against local fixtures: Telegram, RSS/Atom feeds, sitemaps."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from crawler.runner import run_crawl
from kuzet.models import Detection, FetchStatus, Page, Source, SourceKind
from tests.telegram_fixture import render
from tests.webserver import WebServer

DATA = Path(__file__).resolve().parent / "sample_data"

CHANNEL = "kazinfo"
DRUGS = (
    "Мефедрон, шишки, альфа-PVP. Закладки по всему Алматы, гарантия находа, оператор в Телеграм."
)


def channel_posts() -> dict[int, dict]:
    posts = {
        i: {"id": i, "text": f"Жаңалық №{i}: Астанада ауа райы бұлтты.", "views": f"{i}.1K"}
        for i in range(1, 9)
    }
    posts[5]["text"] = DRUGS
    posts[7]["photo"] = "https://cdn4.telesco.pe/file/abc.jpg"
    return posts


class Channel:
    """Serves the channel preview 3 posts a page, newest first, paging with ?before=."""

    def __init__(self) -> None:
        self.posts = channel_posts()

    def __call__(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        before = int(parse_qs(urlsplit(path).query).get("before", ["100000"])[0])
        ids = sorted((i for i in self.posts if i < before), reverse=True)[:3]
        return 200, {}, render(CHANNEL, [self.posts[i] for i in ids])


def test_telegram_posts_pages_edits_and_deletions(settings, db) -> None:
    channel = Channel()
    with WebServer(channel) as web:
        with db.session() as s:
            s.add(
                Source(
                    name="tg",
                    kind=SourceKind.TELEGRAM,
                    start_url=f"{web.url}/s/{CHANNEL}",
                    max_pages=10,
                    allow_private=True,
                )
            )
        first = run_crawl(settings, db, ["tg"])
        assert first.errors == []
        with db.session() as s:
            pages = {p.url: p for p in s.scalars(select(Page))}
            assert set(pages) == {f"https://t.me/{CHANNEL}/{i}" for i in range(1, 9)}
            p7 = pages[f"https://t.me/{CHANNEL}/7"]
            assert p7.meta["views"] == "7.1K" and p7.meta["media"] == [
                "https://cdn4.telesco.pe/file/abc.jpg"
            ]
            assert p7.published_at.isoformat().startswith("2026-11-17") and p7.language == "kk"
            flagged = {d.page.url for d in s.scalars(select(Detection))}
            assert flagged == {f"https://t.me/{CHANNEL}/5"}
        # Between crawls: post 3 is edited, post 6 deleted, and every view count changes.
        channel.posts[3].update(text="Жаңалық №3 (түзетілді): Астанада қар жауды.", edited=True)
        del channel.posts[6]
        for p in channel.posts.values():
            p["views"] = "99K"
        second = run_crawl(settings, db, ["tg"])
        assert second.errors == []
    with db.session() as s:
        rows = s.scalars(select(Page).order_by(Page.id)).all()
        by_url: dict[str, list[Page]] = {}
        for p in rows:
            by_url.setdefault(p.url, []).append(p)
        edited = by_url[f"https://t.me/{CHANNEL}/3"]
        assert (
            len(edited) == 2 and edited[1].meta["edited"] is True and "қар жауды" in edited[1].text
        )
        deleted = by_url[f"https://t.me/{CHANNEL}/6"]
        assert [p.fetch_status for p in deleted] == [FetchStatus.OK, FetchStatus.DELETED]
        # views changed everywhere, yet no other post got a new version
        assert all(len(v) == 1 for u, v in by_url.items() if not u.endswith(("/3", "/6")))


ARTICLE = "<html><head><meta charset=utf-8><title>{t}</title></head><body><p>{b}</p></body></html>"


def test_rss_feed_fetches_linked_articles(settings, db) -> None:
    routes = {}
    with WebServer(routes) as web:
        routes["/rss.xml"] = lambda p, h: (
            200,
            {"Content-Type": "application/rss+xml"},
            (DATA / "feeds/rss_windows-1251.xml.tmpl")
            .read_text(encoding="utf-8")
            .format(base=web.url)
            .encode("cp1251"),
        )
        routes["/news/1.html"] = lambda p, h: (
            200,
            {},
            ARTICLE.format(t="Курс тенге", b="Тенге укрепился.").encode(),
        )
        routes["/news/2.html"] = lambda p, h: (
            200,
            {},
            ARTICLE.format(
                t="Бонусы", b="Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"
            ).encode(),
        )
        with db.session() as s:
            s.add(
                Source(
                    name="rss",
                    kind=SourceKind.FEED,
                    start_url=f"{web.url}/rss.xml",
                    max_depth=1,
                    allow_private=True,
                )
            )
        assert run_crawl(settings, db, ["rss"]).errors == []
    with db.session() as s:
        pages = {p.url.removeprefix(web.url): p for p in s.scalars(select(Page))}
        assert set(pages) == {"/rss.xml", "/news/1.html", "/news/2.html"}
        assert pages["/rss.xml"].meta["entries"] == 2
        assert pages["/news/1.html"].published_at.isoformat() == "2026-11-21T05:00:00+00:00"
        assert {d.page.url.removeprefix(web.url) for d in s.scalars(select(Detection))} == {
            "/news/2.html"
        }


def test_youtube_feed_entries_are_pages_of_their_own(settings, db) -> None:
    with WebServer(
        {
            "/feeds/videos.xml": lambda p, h: (
                200,
                {"Content-Type": "application/atom+xml"},
                (DATA / "feeds/youtube_channel.xml").read_bytes(),
            )
        }
    ) as web:
        with db.session() as s:
            s.add(
                Source(
                    name="yt",
                    kind=SourceKind.FEED,
                    start_url=f"{web.url}/feeds/videos.xml?channel_id=UC1",
                    max_depth=0,
                    allow_private=True,
                )
            )
        assert run_crawl(settings, db, ["yt"]).errors == []
        assert set(web.page_hits()) == {
            "/feeds/videos.xml?channel_id=UC1"
        }  # youtube.com never fetched
    with db.session() as s:
        pages = {p.url: p for p in s.scalars(select(Page))}
        video = pages["https://www.youtube.com/watch?v=abc"]
        assert video.meta["kind"] == "feed_entry" and video.title == "Как выиграть джекпот"
        assert (
            "фриспины" in video.text
            and video.published_at.isoformat() == "2026-11-20T09:00:00+00:00"
        )
        flagged = {d.page.url for d in s.scalars(select(Detection))}
        assert flagged == {"https://www.youtube.com/watch?v=abc"}


def test_sitemap_index_news_and_gzipped_sitemaps(settings, db) -> None:
    import gzip

    routes = {}
    with WebServer(routes) as web:
        b = web.url
        xml = {"Content-Type": "application/xml"}
        routes["/sitemap.xml"] = lambda p, h: (
            200,
            xml,
            (DATA / "sitemaps/index.xml.tmpl").read_text(encoding="utf-8").format(base=b).encode(),
        )
        routes["/sitemap-news.xml"] = lambda p, h: (
            200,
            xml,
            (DATA / "sitemaps/news.xml.tmpl").read_text(encoding="utf-8").format(base=b).encode(),
        )
        routes["/sitemap-pages.xml.gz"] = lambda p, h: (
            200,
            {"Content-Type": "application/gzip"},
            gzip.compress(
                (DATA / "sitemaps/pages.xml.tmpl")
                .read_text(encoding="utf-8")
                .format(base=b)
                .encode()
            ),
        )
        routes["/a.html"] = lambda p, h: (
            200,
            {},
            ARTICLE.format(t="Жаңа саябақ", b="Саябақ ашылды.").encode(),
        )
        routes["/b.html"] = lambda p, h: (200, {}, ARTICLE.format(t="Б", b="Бет.").encode())
        with db.session() as s:
            s.add(
                Source(
                    name="sm",
                    kind=SourceKind.SITEMAP,
                    start_url=f"{b}/sitemap.xml",
                    allow_private=True,
                )
            )
        assert run_crawl(settings, db, ["sm"]).errors == []
    with db.session() as s:
        pages = {p.url.removeprefix(b): p for p in s.scalars(select(Page))}
        assert set(pages) == {"/a.html", "/b.html"}  # sitemaps themselves are not pages
        assert pages["/a.html"].published_at.isoformat() == "2026-11-21T03:30:00+00:00"
        assert pages["/a.html"].meta["news_title"] == "Жаңа саябақ"
        assert pages["/b.html"].published_at.isoformat() == "2026-10-01T00:00:00+00:00"


def test_js_only_page_is_read_only_when_rendered(settings, db, chromium) -> None:
    js = DATA / "js"
    routes = {
        "/app/": lambda p, h: (200, {}, (js / "app.html").read_bytes()),
        "/app/second.html": lambda p, h: (200, {}, (js / "second.html").read_bytes()),
    }
    with WebServer(routes) as web:
        with db.session() as s:
            s.add(Source(name="raw", start_url=f"{web.url}/app/", allow_private=True))
            s.add(Source(name="js", start_url=f"{web.url}/app/", render=True, allow_private=True))
        assert run_crawl(settings, db, ["raw"]).errors == []
        result = run_crawl(settings, db, ["js"])
        assert result.errors == []
    with db.session() as s:
        pages = s.scalars(select(Page).order_by(Page.id)).all()
        raw = [p for p in pages if p.source.name == "raw"]
        rendered = {p.url.removeprefix(web.url): p for p in pages if p.source.name == "js"}
        assert len(raw) == 1 and "казино" not in (raw[0].text or "")  # the script never ran
        # the browser ran it: the built text, the new title and the script-made link
        assert set(rendered) == {"/app/", "/app/second.html"}
        assert rendered["/app/"].title == "Звезда — лучшие бонусы"
        assert "бұлтты" in rendered["/app/second.html"].text
        flagged = {
            (d.page.source.name, d.page.url.removeprefix(web.url))
            for d in s.scalars(select(Detection))
        }
        assert flagged == {("js", "/app/")}
