"""``kuzet notices ...``: Form 2 notices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from kuzet.cli_common import console, ctx_of, err, fail
from kuzet.i18n import localized, t
from kuzet.models import Notice

_ctx = ctx_of

app = typer.Typer(help="Form 2 notices.", no_args_is_help=True)


# ---------------------------------------------------------------- notices


@app.command("build")
def notices_build(ctx: typer.Context, authority: str | None = None) -> None:
    """Group confirmed detections into draft notices."""
    from notices.builder import build_drafts

    c = _ctx(ctx)
    with c.db.session() as session:
        result = build_drafts(session, authority=authority or c.settings.authority, actor="cli")
        for n in result.notices:
            console.print(f"#{n.id} {n.violation_type}: {len(n.facts)} facts")
        for det_id, reason in result.skipped:
            err.print(f"detection {det_id} left out: {reason}", highlight=False)
    console.print(t("notices.built", c.lang, n=len(result.notices)))


@app.command("list")
def notices_list(ctx: typer.Context) -> None:
    c = _ctx(ctx)
    from kuzet.models import NoticeFact

    table = Table("id", "status", "violation type", "facts", "created (UTC)")
    with c.db.session() as session:
        rows = session.execute(
            select(Notice, func.count(NoticeFact.id))
            .outerjoin(NoticeFact)
            .group_by(Notice.id)
            .order_by(Notice.id)
        ).all()
        for n, facts in rows:
            table.add_row(
                str(n.id),
                t(f"notice.status.{n.status.value}", c.lang),
                localized(n.violation_type_title, c.lang),
                str(facts),
                n.created_at.isoformat(),
            )
    console.print(table)


@app.command("export")
def notices_export(
    ctx: typer.Context,
    notice_id: Annotated[int, typer.Argument(metavar="ID")],
    format: Annotated[str, typer.Option("--format", "-f", help="pdf or json")] = "pdf",
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path(
        "notice.pdf"
    ),
) -> None:
    """Write a notice as PDF (Form 2, kk + ru, with the screenshot annex) or JSON."""
    from evidence.store import LocalArtifactStore
    from notices.export import ExportError, render_notice, write_atomically

    c = _ctx(ctx)
    try:
        with c.db.session() as session:
            data = render_notice(
                session, LocalArtifactStore(c.settings.evidence_dir), notice_id, format
            )
    except ExportError as exc:
        raise fail(str(exc)) from exc
    except FileNotFoundError as exc:
        raise fail(f"evidence file missing from the store: {exc.filename}") from exc
    write_atomically(output, data)
    console.print(t("cli.exported", c.lang, path=output), highlight=False)
