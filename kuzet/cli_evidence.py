"""``kuzet capture`` and ``kuzet evidence``: capture on demand, verify what is stored."""

from __future__ import annotations

from typing import Annotated

import typer

from kuzet.cli_common import console, ctx_of, err
from kuzet.i18n import t

app = typer.Typer(help="Stored evidence: verify hashes and the custody log.", no_args_is_help=True)


def capture(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The page to capture now.")],
) -> None:
    """Capture a URL now (full evidence); each run is kept, so repeats form a history."""
    from evidence.jobs import run_captures
    from kuzet.models import Capture

    c = ctx_of(ctx)
    with c.db.session() as session:
        cap = Capture(url=url)
        session.add(cap)
        session.flush()
        capture_id = cap.id
    run_captures(c.settings, c.db, [capture_id])
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
) -> None:
    """Re-hash every artifact, check each manifest and walk the custody log's chain;
    name exactly what was altered, removed or reordered."""
    from evidence.manifest import verify_all
    from evidence.store import LocalArtifactStore

    c = ctx_of(ctx)
    ids = None if all_ or capture_id is None else [capture_id]
    from evidence.timestamp import load_roots

    store = LocalArtifactStore(c.settings.evidence_dir)
    roots = load_roots(c.settings.tsa_ca) if c.settings.tsa_ca else []
    with c.db.session() as session:
        count, problems = verify_all(session, store, ids, roots)
    for problem in problems:
        err.print(f"✗ {problem}", highlight=False)
    if problems:
        err.print(t("cli.verify_failed", c.lang, n=count, problems=len(problems)))
        raise typer.Exit(1)
    console.print(t("cli.verify_ok", c.lang, n=count), highlight=False)
