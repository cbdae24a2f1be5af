"""``kuzet notices ...``: Form 2 notices."""

from __future__ import annotations

from datetime import timedelta
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
    format: Annotated[str, typer.Option("--format", "-f", help="pdf, docx or json")] = "pdf",
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path(
        "notice.pdf"
    ),
) -> None:
    """Write a notice as PDF or DOCX (Form 2, kk + ru, with the screenshot annex) or JSON.
    A signed notice's PDF is the signed file itself."""
    from evidence.store import LocalArtifactStore
    from notices.export import ExportError, render_notice, write_atomically

    c = _ctx(ctx)
    try:
        with c.db.session() as session:
            data = render_notice(
                session, LocalArtifactStore(c.settings.evidence_dir), notice_id, format.lower()
            )
    except ExportError as exc:
        raise fail(str(exc)) from exc
    except FileNotFoundError as exc:
        raise fail(f"evidence file missing from the store: {exc.filename}") from exc
    write_atomically(output, data)
    console.print(t("cli.exported", c.lang, path=output), highlight=False)


def _password(password: str | None, password_env: str | None, lang: str = "kk") -> str:
    import getpass
    import os
    import sys

    if password is not None:
        from kuzet.cli_users import argv_password_warning

        argv_password_warning(lang)  # argv is visible to every user of the machine
        return password
    if password_env:
        if password_env not in os.environ:
            raise fail(f"environment variable {password_env} is not set")
        return os.environ[password_env]
    if sys.stdin.isatty():
        return getpass.getpass("key password: ")
    return sys.stdin.readline().rstrip("\n")


@app.command("sign")
def notices_sign(
    ctx: typer.Context,
    notice_id: Annotated[int, typer.Argument(metavar="ID")],
    key: Annotated[Path, typer.Option("--key", help="The head's PKCS#12 key (.p12 / .pfx).")],
    password: Annotated[
        str | None, typer.Option("--password", help="Key password (else prompted).")
    ] = None,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="Read the key password from this variable.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The signing head's kuzet account, if any.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the signed PDF here.")
    ] = None,
) -> None:
    """Sign a draft notice with the head's key (PAdES); the notice is locked after."""
    from evidence.store import LocalArtifactStore
    from kuzet.models import User
    from notices.export import ExportError, write_atomically
    from notices.signing import SigningError, sign_notice

    c = _ctx(ctx)
    try:
        p12 = key.read_bytes()
    except OSError as exc:
        raise fail(f"{key}: {exc.strerror or exc}") from exc
    secret = _password(password, password_env, c.lang)
    try:
        with c.db.session() as session:
            account = None
            if user:
                account = session.scalars(select(User).where(User.username == user)).first()
                if account is None or not account.is_active:
                    raise fail(f"no active user {user!r}")
            signed = sign_notice(
                session,
                LocalArtifactStore(c.settings.evidence_dir),
                notice_id,
                p12=p12,
                password=secret,
                user=account,
                actor=None if account else "cli",
            )
    except (SigningError, ExportError) as exc:
        raise fail(f"{key}: {exc}" if "key file" in str(exc) else str(exc)) from exc
    except FileNotFoundError as exc:
        raise fail(f"evidence file missing from the store: {exc.filename}") from exc
    if output:
        write_atomically(output, signed.pdf)
    console.print(
        t(
            "cli.notice_signed",
            c.lang,
            id=notice_id,
            signer=signed.signer_subject,
            sha=signed.sha256,
        ),
        highlight=False,
    )


@app.command("mark-sent")
def notices_mark_sent(
    ctx: typer.Context, notice_id: Annotated[int, typer.Argument(metavar="ID")]
) -> None:
    """Record that a signed notice went to the authorised body (re-checks start from it)."""
    from notices.export import ExportError
    from notices.signing import SigningError, mark_sent

    c = _ctx(ctx)
    try:
        with c.db.session() as session:
            mark_sent(
                session,
                notice_id,
                actor="cli",
                first_check_after=timedelta(hours=c.settings.recheck_after_h),
            )
    except (SigningError, ExportError) as exc:
        raise fail(str(exc)) from exc
    console.print(t("cli.notice_sent", c.lang, id=notice_id), highlight=False)


@app.command("mark-restricted")
def notices_mark_restricted(
    ctx: typer.Context,
    notice_id: Annotated[int, typer.Argument(metavar="ID")],
    order: Annotated[str, typer.Option("--order", help="The restricting order: number, date.")],
) -> None:
    """Record that access was restricted by the authorised body's order."""
    from notices.export import ExportError
    from notices.signing import SigningError, mark_restricted

    c = _ctx(ctx)
    try:
        with c.db.session() as session:
            mark_restricted(session, notice_id, order=order, actor="cli")
    except (SigningError, ExportError) as exc:
        raise fail(str(exc)) from exc
    console.print(t("notice.status.restricted", c.lang) + f": №{notice_id}", highlight=False)


@app.command("verify")
def notices_verify(
    ctx: typer.Context,
    pdf: Annotated[Path, typer.Argument(metavar="FILE.pdf")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="Trusted CA or signer certificate (PEM/DER); repeatable."),
    ] = None,
) -> None:
    """Check a signed notice: signature, whole-file coverage, signer, and every annex
    screenshot against the evidence store. Exit 0 only when all of it holds."""
    from evidence.store import LocalArtifactStore
    from notices.signing import verify_pdf

    c = _ctx(ctx)
    try:
        data = pdf.read_bytes()
        roots = [p.read_bytes() for p in trust or []]
    except OSError as exc:
        raise fail(f"{exc.filename}: {exc.strerror or exc}") from exc
    with c.db.session() as session:
        v = verify_pdf(
            data,
            store=LocalArtifactStore(c.settings.evidence_dir),
            session=session,
            trust_roots=roots,
        )
    lang = c.lang
    yes_no = {True: t("cli.yes", lang), False: t("cli.no", lang)}
    console.print(f"{pdf}", highlight=False)
    console.print(f"  {t('verify.signer', lang)}: {v.signer or '—'}", highlight=False)
    console.print(f"  {t('verify.signed_at', lang)}: {v.signed_at or '—'}", highlight=False)
    console.print(f"  {t('verify.intact', lang)}: {yes_no[v.intact]}", highlight=False)
    console.print(f"  {t('verify.whole_file', lang)}: {yes_no[v.whole_file]}", highlight=False)
    console.print(f"  {t('verify.trusted', lang)}: {yes_no[v.trusted]}", highlight=False)
    for number, sha, state in v.annex:
        console.print(f"  {t('verify.fact', lang)} {number}: {sha} {state}", highlight=False)
    for problem in v.problems:
        err.print(f"[bold red]✗[/] {problem}", highlight=False)
    if not v.valid:
        err.print(t("cli.notice_invalid", lang), highlight=False)
        raise typer.Exit(1)
    console.print(t("cli.notice_valid", lang), highlight=False)
