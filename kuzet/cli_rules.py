"""``kuzet rules``: validate packs, run their examples, measure them before they go live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kuzet.cli_common import Ctx, console, ctx_of, err, fail
from kuzet.i18n import t
from rules.loader import RulePackError, RuleSet

app = typer.Typer(
    help="Rule packs: validate, test, evaluate, backtest, image hashes.", no_args_is_help=True
)


def _load(c: Ctx, directory: Path | None) -> RuleSet:
    """The packs of ``directory`` (default: configured); an invalid one ends the command."""
    from rules.loader import load_rules

    try:
        return load_rules(directory or c.settings.rules_dir)
    except RulePackError as exc:
        raise fail(exc.localized(c.lang)) from exc


@app.command("validate")
def rules_validate(ctx: typer.Context, directory: Path | None = None) -> None:
    """Validate every pack; the first error names file, line and field."""
    c = ctx_of(ctx)
    rs = _load(c, directory)
    path = directory or c.settings.rules_dir
    console.print(t("cli.rules_valid", c.lang, n=len(rs.rules), path=path), highlight=False)


@app.command("test")
def rules_test(ctx: typer.Context, directory: Path | None = None) -> None:
    """Run every rule's inline examples (must match / must not match)."""
    from rules.engine import run_inline_tests

    c = ctx_of(ctx)
    rs = _load(c, directory)
    count, failures = run_inline_tests(rs)
    for f in failures:
        key = "cli.rule_should_match" if f.kind == "match" else "cli.rule_should_not_match"
        what = t(key, c.lang)
        err.print(
            f"[red]FAIL[/] {f.rule_id} ({rs.sources[f.rule_id]}): {what}: {f.text!r}",
            highlight=False,
        )
    if failures:
        raise fail(t("cli.rules_failed", c.lang, n=len(failures)))
    console.print(t("cli.rules_ok", c.lang, n=len(rs.rules), tests=count))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _write_json(path: Path | None, data: dict[str, Any], lang: str) -> None:
    if path:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(t("cli.report_written", lang, path=path), highlight=False)


@app.command("eval")
def rules_eval(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option("--corpus", help="documents + labels.csv")],
    directory: Annotated[Path | None, typer.Option(help="rule packs (default: configured)")] = None,
    report: Annotated[Path | None, typer.Option("--json", help="write the full report")] = None,
    show: Annotated[int, typer.Option(help="false positives / misses listed per line")] = 5,
) -> None:
    """Precision, recall and F1 per category and per rule on a labelled corpus."""
    from rules.evaluate import CorpusError, evaluate_corpus

    c = ctx_of(ctx)
    rs = _load(c, directory)
    try:
        result = evaluate_corpus(rs, corpus)
    except CorpusError as exc:
        raise fail(str(exc)) from exc
    for title, rows in (
        (t("cli.eval_by_category", c.lang), result.by_category),
        (t("cli.eval_by_rule", c.lang), result.by_rule),
    ):
        table = Table(title=title)
        for col in ("", "TP", "FP", "FN", "P", "R", "F1", "FP / FN"):
            table.add_column(col, overflow="fold")
        for name, k in sorted(rows.items()):
            wrong = [f"FP {x}" for x in k.false_positives[:show]]
            wrong += [f"FN {x}" for x in k.misses[:show]]
            table.add_row(
                name,
                str(k.tp),
                str(k.fp),
                str(k.fn),
                _pct(k.precision),
                _pct(k.recall),
                _pct(k.f1),
                "\n".join(wrong),
            )
        console.print(table)
    console.print(t("cli.eval_done", c.lang, n=result.documents))
    _write_json(report, result.as_dict(), c.lang)


@app.command("backtest")
def rules_backtest(
    ctx: typer.Context,
    pack: Annotated[str, typer.Argument(help="pack name in the rules directory, or a pack file")],
    directory: Annotated[Path | None, typer.Option(help="rule packs (default: configured)")] = None,
    report: Annotated[Path | None, typer.Option("--json", help="write the full report")] = None,
    show: Annotated[int, typer.Option(help="pages listed per change")] = 20,
) -> None:
    """What a changed pack would newly flag and stop flagging among stored pages."""
    from rules.evaluate import backtest, load_candidate

    c = ctx_of(ctx)
    try:
        name, candidate = load_candidate(directory or c.settings.rules_dir, pack)
    except RulePackError as exc:
        raise fail(exc.localized(c.lang)) from exc
    result = backtest(c.db, name, candidate)
    console.print(
        t(
            "cli.backtest_summary",
            c.lang,
            pack=name,
            pages=result.pages,
            new=len(result.newly_flagged),
            gone=len(result.no_longer_flagged),
            same=result.still_flagged,
        )
    )
    for label, changes in (("+", result.newly_flagged), ("-", result.no_longer_flagged)):
        for change in changes[:show]:
            console.print(f" {label} {change.url}  ({', '.join(change.rules)})", highlight=False)
    _write_json(report, result.as_dict(), c.lang)


@app.command("phash")
def rules_phash(
    files: Annotated[list[Path], typer.Argument(help="Image files (banners, logos).")],
) -> None:
    """Print the perceptual hash of each image, for an ``image_phash`` condition."""
    from crawler.pipelines.image_hashes import phash_of

    failed = False
    for path in files:
        try:
            console.print(f"{phash_of(path.read_bytes())}  {path}", highlight=False)
        except Exception as exc:  # one unreadable file does not hide the others' hashes
            err.print(f"{path}: {type(exc).__name__}: {exc}", highlight=False)
            failed = True
    if failed:
        raise typer.Exit(1)
