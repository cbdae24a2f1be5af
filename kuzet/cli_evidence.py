"""``kuzet capture`` and ``kuzet evidence``: capture on demand, verify what is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kuzet.cli_common import console, ctx_of, err
from kuzet.custody import Problem
from kuzet.i18n import t

app = typer.Typer(help="Stored evidence: verify hashes and the custody log.", no_args_is_help=True)


def capture(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The page to capture now.")],
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="Let the page reach its own host (host:port) though it is private; "
            "nothing else it links, frames or redirects to.",
        ),
    ] = False,
) -> None:
    """Capture a URL now (full evidence); each run is kept, so repeats form a history."""
    from dataclasses import replace

    from evidence.jobs import run_captures
    from kuzet.models import Capture
    from kuzet.netguard import own_hosts

    c = ctx_of(ctx)
    with c.db.session() as session:
        cap = Capture(url=url)
        session.add(cap)
        session.flush()
        capture_id = cap.id
    settings = c.settings
    if allow_private:
        own = (*settings.capture_allow_private, *own_hosts(url))
        settings = replace(settings, capture_allow_private=own)
    run_captures(settings, c.db, [capture_id])
    with c.db.session() as session:
        cap = session.get(Capture, capture_id)
        assert cap is not None
        if cap.manifest_sha256:
            console.print(
                t(
                    "cli.capture_done",
                    c.lang,
                    id=cap.id,
                    status=t(f"capture.{cap.status.value}", c.lang),
                    manifest=cap.manifest_sha256,
                ),
                highlight=False,
            )
            return
        err.print(t("cli.capture_failed", c.lang, id=cap.id, error=cap.error), highlight=False)
    raise typer.Exit(1)


@app.command("verify")
def verify(
    ctx: typer.Context,
    capture_id: Annotated[int | None, typer.Argument(help="One capture (default: all).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every capture.")] = False,
    export: Annotated[
        Path | None,
        typer.Option(help="Check a custody log export (export-custody) instead, offline."),
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option(help="Trusted custody public key (PEM) for --export; repeatable."),
    ] = None,
) -> None:
    """Re-hash every artifact, check each manifest and walk the custody log's chain;
    name exactly what was altered, removed or reordered, and entries cut off the end."""
    from evidence.manifest import verify_all
    from evidence.store import LocalArtifactStore

    c = ctx_of(ctx)
    if export is not None:
        _verify_export(c.lang, export, public_key or [], c.settings.tsa_ca)
        return
    ids = None if all_ or capture_id is None else [capture_id]
    from evidence.timestamp import load_roots
    from kuzet.audit import verify_chain

    store = LocalArtifactStore(c.settings.evidence_dir)
    roots = load_roots(c.settings.tsa_ca) if c.settings.tsa_ca else []
    with c.db.session() as session:
        count, problems = verify_all(session, store, ids, roots)
        if roots:  # checkpoint timestamps, checked against the TSA root as well
            problems += [
                p
                for p in verify_chain(session, roots)
                if p.key == "custody.cp_timestamp" and p not in problems
            ]
    for problem in problems:
        text = problem.text(c.lang) if isinstance(problem, Problem) else problem
        err.print(f"✗ {text}", highlight=False)
    if problems:
        err.print(t("cli.verify_failed", c.lang, n=count, problems=len(problems)))
        raise typer.Exit(1)
    console.print(t("cli.verify_ok", c.lang, n=count), highlight=False)


def _report(lang: str, problems: list[Problem], entries: int, checkpoints: int, keys: str) -> None:
    for problem in problems:
        err.print(f"✗ {problem.text(lang)}", highlight=False)
    if problems:
        err.print(t("cli.custody_failed", lang, problems=len(problems)), highlight=False)
        raise typer.Exit(1)
    console.print(
        t("cli.custody_ok", lang, entries=entries, checkpoints=checkpoints, keys=keys),
        highlight=False,
    )


def _verify_export(
    lang: str, directory: Path, public_keys: list[Path], tsa_ca: Path | None
) -> None:
    """The export in ``directory`` checked with no database: against the given public
    keys, or else the ones in the export (their ids are printed, to compare)."""
    from evidence.timestamp import load_roots
    from kuzet.audit import load_export, timestamp_checker
    from kuzet.custody import load_public_keys
    from kuzet.custody_verify import verify_records

    keys = load_public_keys(public_keys or sorted(directory.glob("*.pub")))
    rec = load_export(directory)
    roots = load_roots(tsa_ca) if tsa_ca else []
    problems = verify_records(rec, keys, timestamp_checker(roots))
    _report(lang, problems, len(rec.entries), len(rec.checkpoints), ", ".join(keys))


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign a checkpoint of the custody log now (and time-stamp it, with a TSA)."""
    from evidence.timestamp import verify_timestamp
    from kuzet import audit
    from kuzet.custody import canonical

    c = ctx_of(ctx)
    cp, error = audit.checkpoint_and_anchor(c.db, c.settings.tsa_url)
    assert cp is not None
    console.print(
        t("cli.checkpoint_done", c.lang, n=cp.id, count=cp.count, hash=cp.hash, key_id=cp.key_id),
        highlight=False,
    )
    if error:
        err.print(t("cli.checkpoint_no_timestamp", c.lang, error=error), highlight=False)
        raise typer.Exit(1)
    if cp.timestamp_reply:
        body = canonical(audit.checkpoint_body(cp))
        stamped = verify_timestamp(cp.timestamp_reply, body, []).time
        console.print(t("cli.checkpoint_timestamped", c.lang, at=stamped), highlight=False)


@app.command("export-custody")
def export_custody(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to write the export to.")],
) -> None:
    """Write the custody log, its checkpoints, the access log and the public key(s) as
    JSON lines, to be checked offline with ``verify --export``."""
    from kuzet import audit

    c = ctx_of(ctx)
    with c.db.session() as session:
        rec = audit.export(session, directory)
    console.print(
        t(
            "cli.custody_exported",
            c.lang,
            dir=directory,
            entries=len(rec.entries),
            checkpoints=len(rec.checkpoints),
        ),
        highlight=False,
    )
