"""``kuzet form1 ...``: the staff list (Form 1), exported and signed every half year."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kuzet.cli_common import console, ctx_of, fail
from kuzet.i18n import t

app = typer.Typer(help="Form 1: the staff who enter resources and links.", no_args_is_help=True)


@app.command("export")
def form1_export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[str, typer.Option("--format", "-f", help="pdf or docx")] = "pdf",
    key: Annotated[
        Path | None, typer.Option("--key", help="Sign the PDF with this PKCS#12 key.")
    ] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    password_env: Annotated[str | None, typer.Option("--password-env")] = None,
) -> None:
    """Write Form 1 (kk + ru) as PDF, signed when a key is given, or DOCX."""
    import hashlib

    from kuzet.cli_notices import _password
    from kuzet.db import utcnow
    from notices import form1
    from notices.export import write_atomically
    from notices.signing import SigningError, sign_pdf

    c = ctx_of(ctx)
    fmt = format.lower()
    if fmt not in ("pdf", "docx"):
        raise fail(f"unknown format {format!r} (use pdf or docx)")
    if key is not None and fmt != "pdf":
        raise fail("only the PDF is signed; use --format pdf with --key")
    with c.db.session() as session:
        rows = form1.staff(session)
        at = utcnow()
        render = form1.render_pdf if fmt == "pdf" else form1.render_docx
        data = render(rows, authority=c.settings.authority, at=at)
        signer = None
        if key is not None:
            try:
                p12 = key.read_bytes()
            except OSError as exc:
                raise fail(f"{key}: {exc.strerror or exc}") from exc
            try:
                data, signer = sign_pdf(
                    data,
                    p12=p12,
                    password=_password(password, password_env, c.lang),
                    reason="Form 1 staff list",
                )
            except SigningError as exc:
                raise fail(f"{key}: {exc}") from exc
        write_atomically(output, data)
        form1.record_export(
            session,
            fmt=fmt,
            sha256=hashlib.sha256(data).hexdigest(),
            rows=len(rows),
            signer=signer,
            actor="cli",
        )
    console.print(t("cli.form1_written", c.lang, path=output, n=len(rows)), highlight=False)


@app.command("status")
def form1_status(ctx: typer.Context) -> None:
    """When Form 1 was last exported, and whether it is due again (exit 2 when due)."""
    from notices import form1

    c = ctx_of(ctx)
    with c.db.session() as session:
        last = form1.last_export(session)
        due = form1.renewal_due(session)
    when = last.strftime("%Y-%m-%d") if last else "—"
    console.print(t("cli.form1_last", c.lang, when=when), highlight=False)
    if due:
        console.print(t("form1.due", c.lang), highlight=False)
        raise typer.Exit(2)
