from __future__ import annotations

from crawler.traps import TrapGuard


def test_numeric_article_ids_are_never_shape_limited() -> None:
    g = TrapGuard(per_shape=5)
    assert all(g.reason(f"https://news.kz/p/{i}.html") is None for i in range(50))
    assert all(g.reason(f"https://news.kz/news/2024-story-{i}") is None for i in range(50))


def test_calendars_and_query_spaces_are_bounded() -> None:
    g = TrapGuard(per_shape=5)
    months = [g.reason(f"https://a.kz/calendar?month={m}&year=2024") for m in range(1, 13)]
    assert months[:5] == [None] * 5 and set(months[5:]) == {"too many URLs of one shape"}
    days = [g.reason(f"https://a.kz/events/2024/05/{d:02d}/") for d in range(1, 20)]
    assert days.count(None) == 5
    sessions = [g.reason(f"https://a.kz/?sid={i:x}") for i in range(20)]
    assert sessions.count(None) == 5


def test_hard_limits() -> None:
    g = TrapGuard()
    assert g.reason("https://a.kz/" + "x" * 2000) == "url too long"
    assert g.reason("https://a.kz/" + "/".join("abcdefghijklmn")) == "path too deep"
    assert g.reason("https://a.kz/a/b/a/b/a/b/") == "repeated path segment"
    assert (
        g.reason("https://a.kz/?" + "&".join(f"k{i}=1" for i in range(9)))
        == "too many query parameters"
    )
