from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kuzet.cli import app
from kuzet.models import AuditEvent, CrawlRun, Source, SourceKind
from kuzet.sources import WatchlistError, load_watchlist

WATCHLIST = """\
sources:
  - name: tengrinews
    url: https://tengrinews.kz/
    depth: 3
    max_pages: 500
    deny: ['/tag/']
  - name: kaz-channel
    kind: telegram
    url: t.me/some_channel
    max_pages: 5
  - name: youtube-feed
    kind: feed
    url: https://www.youtube.com/feeds/videos.xml?channel_id=UC123
  - name: no-robots
    url: https://example.kz/
    obey_robots: false
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "watchlist.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def env(settings) -> dict[str, str]:
    return settings.to_env()


def test_import_is_idempotent_and_audits_robots_opt_out(settings, db, tmp_path) -> None:
    path = write(tmp_path, WATCHLIST)
    runner = CliRunner()
    r = runner.invoke(app, ["sources", "import", str(path)], env=env(settings))
    assert r.exit_code == 0 and "added 4, updated 0, unchanged 0" in r.output, r.output
    r = runner.invoke(app, ["sources", "import", str(path)], env=env(settings))
    assert "added 0, updated 0, unchanged 4" in r.output
    path.write_text(WATCHLIST.replace("depth: 3", "depth: 4"), encoding="utf-8")
    r = runner.invoke(app, ["sources", "import", str(path)], env=env(settings))
    assert "added 0, updated 1, unchanged 3" in r.output
    with db.session() as s:
        src = {x.name: x for x in s.scalars(select(Source))}
        assert src["tengrinews"].max_depth == 4 and src["tengrinews"].deny == ["/tag/"]
        assert src["kaz-channel"].kind == SourceKind.TELEGRAM
        assert src["kaz-channel"].start_url == "https://t.me/s/some_channel"
        opt_outs = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "source.robots_opt_out")
        ).all()
        assert [e.object_id for e in opt_outs] == ["no-robots"]


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            WATCHLIST.replace("    depth: 3\n", "    depht: 3\n"),
            4,
            "sources[0].depht",
            "unknown field",
        ),
        (
            WATCHLIST.replace("url: t.me/some_channel", "url: https://example.org/x"),
            9,
            "sources[1].url",
            "t.me/s/<channel>",
        ),
        (
            WATCHLIST.replace("deny: ['/tag/']", "deny: ['(/tag/']"),
            6,
            "sources[0].deny",
            "does not compile",
        ),
        (
            WATCHLIST.replace("max_pages: 500", "max_pages: lots"),
            5,
            "sources[0].max_pages",
            "valid integer",
        ),
        (
            WATCHLIST.replace("name: no-robots", "name: tengrinews"),
            14,
            "sources[3].name",
            "appears twice",
        ),
    ],
)
def test_watchlist_errors_name_file_line_and_field(tmp_path, text, line, field, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(WatchlistError) as info:
        load_watchlist(path)
    e = info.value
    assert (e.path, e.line, e.field) == (path, line, field), str(e)
    assert message in e.message


def test_bad_watchlist_changes_nothing(settings, db, tmp_path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["sources", "import", str(write(tmp_path, WATCHLIST))], env=env(settings))
    bad = write(
        tmp_path,
        WATCHLIST.replace("depth: 3", "depth: 4").replace("max_pages: 5\n", "max_pages: -1\n"),
    )
    r = runner.invoke(app, ["sources", "import", str(bad)], env=env(settings))
    assert r.exit_code == 1 and "watchlist.yaml:10: sources[1].max_pages" in r.output
    with db.session() as s:
        assert s.scalars(select(Source).where(Source.name == "tengrinews")).one().max_depth == 3


def test_add_list_show_disable_remove(settings, db) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["sources", "add", "a", "https://a.kz/", "--depth", "1", "--deny", "/login"],
        env=env(settings),
    )
    assert r.exit_code == 0, r.output
    assert (
        runner.invoke(app, ["sources", "add", "a", "https://a.kz/"], env=env(settings)).exit_code
        == 1
    )
    r = runner.invoke(app, ["sources", "add", "b", "ftp://b.kz/"], env=env(settings))
    assert r.exit_code == 1 and "not an http(s) URL" in r.output
    listing = runner.invoke(
        app, ["sources", "list"], env={**env(settings), "COLUMNS": "160"}
    ).output
    assert "https://a.kz/" in listing and "1/100" in listing
    assert "/login" in runner.invoke(app, ["sources", "show", "a"], env=env(settings)).output
    assert runner.invoke(app, ["sources", "disable", "a"], env=env(settings)).exit_code == 0
    with db.session() as s:
        src = s.scalars(select(Source)).one()
        assert src.enabled is False
        s.add(CrawlRun(source_id=src.id))
    r = runner.invoke(app, ["sources", "remove", "a"], env=env(settings))
    assert r.exit_code == 1 and "use 'kuzet sources disable a'" in r.output
