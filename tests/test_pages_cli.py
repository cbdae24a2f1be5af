from __future__ import annotations

from typer.testing import CliRunner

from crawler.runner import run_crawl
from kuzet.cli import app
from kuzet.models import Source
from tests.webserver import WebServer


def test_history_and_diff_of_a_changed_page(settings, db) -> None:
    state = {"text": "Курс тенге: 478 за доллар."}

    def page(path, headers):
        body = f"<html><head><title>Курс</title></head><body><p>{state['text']}</p></body></html>"
        return 200, {}, body.encode()

    with WebServer({"/rate": page}) as web:
        with db.session() as s:
            s.add(Source(name="rate", start_url=f"{web.url}/rate", allow_private=True))
        run_crawl(settings, db, ["rate"])
        state["text"] = "Курс тенге: 481 за доллар."
        run_crawl(settings, db, ["rate"])
        run_crawl(settings, db, ["rate"])  # unchanged: no third version
    runner, env = CliRunner(), {**settings.to_env(), "COLUMNS": "200"}
    history = runner.invoke(app, ["pages", "history", f"{web.url}/rate"], env=env)
    assert history.exit_code == 0 and history.output.count(" ok ") == 2
    diff = runner.invoke(app, ["pages", "diff", f"{web.url}/rate"], env=env)
    assert diff.exit_code == 0, diff.output
    assert "-Курс тенге: 478 за доллар." in diff.output
    assert "+Курс тенге: 481 за доллар." in diff.output
    missing = runner.invoke(app, ["pages", "diff", f"{web.url}/nope"], env=env)
    assert missing.exit_code == 1 and "0 stored version(s)" in missing.output
