from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from evidence.store import LocalArtifactStore
from kuzet.cli import app
from kuzet.db import Database
from kuzet.models import DetectionStatus
from notices.builder import build_drafts
from tests.factories import detection


def env(settings, **extra) -> dict[str, str]:
    return {**settings.to_env(), **extra}


def test_rules_test_passes_and_speaks_the_chosen_language(settings) -> None:
    r = CliRunner().invoke(app, ["--lang", "ru", "rules", "test"], env=env(settings))
    assert r.exit_code == 0, r.output
    assert "Проверено правил" in r.output


def test_rule_checks_speak_kazakh_too(settings, tmp_path) -> None:
    r = CliRunner().invoke(app, ["--lang", "kk", "rules", "validate"], env=env(settings))
    assert r.exit_code == 0, r.output
    assert "ереже дұрыс" in r.output
    packs = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, packs)
    text = (packs / "suicide.yaml").read_text(encoding="utf-8")
    # A "must not match" example that does match: the rule's own "match" example.
    wrong = text.replace(
        '- "Психологтар ата-аналарға «Көк кит» қаупі туралы айтты."',
        '- "«Көк кит» ойыны: куратор 50 тапсырма береді, соңғы тапсырма — өмірден кету. '
        'Ешкімге айтпа!"',
    )
    assert wrong != text
    (packs / "suicide.yaml").write_text(wrong, encoding="utf-8")
    r = CliRunner().invoke(
        app, ["--lang", "kk", "rules", "test"], env=env(settings, KUZET_RULES_DIR=str(packs))
    )
    assert r.exit_code == 1
    assert "suicide.death-group.kk" in r.output and "таппауы керек еді" in r.output


def test_invalid_pack_names_file_line_and_field(settings, tmp_path) -> None:
    bad = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, bad)
    text = (bad / "suicide.yaml").read_text(encoding="utf-8")
    (bad / "suicide.yaml").write_text(
        text.replace("    version: 1\n", "    version: 1\n    weight: 5\n", 1), encoding="utf-8"
    )
    r = CliRunner().invoke(app, ["rules", "validate"], env=env(settings, KUZET_RULES_DIR=str(bad)))
    assert r.exit_code == 1
    line = next(
        i
        for i, row in enumerate((bad / "suicide.yaml").read_text().splitlines(), 1)
        if "weight: 5" in row
    )
    # Kazakh by default, like every officer-facing message; the place stays as it is.
    assert f"suicide.yaml:{line}: rules[0].weight: белгісіз өріс" in " ".join(r.output.split())
    r = CliRunner().invoke(
        app, ["--lang", "en", "rules", "validate"], env=env(settings, KUZET_RULES_DIR=str(bad))
    )
    assert f"suicide.yaml:{line}: rules[0].weight: unknown field" in " ".join(r.output.split())


def test_pack_errors_speak_russian(settings, tmp_path) -> None:
    packs = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, packs)
    pack = packs / "suicide.yaml"
    original = pack.read_text(encoding="utf-8")

    def validate(text: str) -> str:
        pack.write_text(text, encoding="utf-8")
        r = CliRunner().invoke(
            app,
            ["--lang", "ru", "rules", "validate"],
            env=env(settings, KUZET_RULES_DIR=str(packs)),
        )
        assert r.exit_code == 1
        return " ".join(r.output.split())

    start = original.index("  legal_norm:\n")
    end = original.index("  severity:", start)
    assert "rules[0].legal_norm: обязательное поле отсутствует" in validate(
        original[:start] + original[end:]
    )
    extra = original.replace("    version: 1\n", "    version: 1\n    x: 1\n", 1)
    assert "rules[0].x: неизвестное поле" in validate(extra)
    assert "ошибка YAML" in validate(original + "  - : [\n")
    regex_rule = (
        "pack: suicide\nrules:\n  - id: t.regex\n    version: 1\n"
        "    title: {kk: Т, ru: Т}\n    violation_type: online_gambling\n"
        '    legal_norm: {kk: "н", ru: "н"}\n    severity: high\n'
        "    match:\n      regex: ['(unclosed']\n"
        "    author: analyst\n    created: 2026-11-01\n"
    )
    assert "rules[0].match.regex: регулярное выражение не компилируется" in validate(regex_rule)


def test_notices_export_json_and_pdf(settings, tmp_path) -> None:
    db = Database.from_settings(settings)
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        d = detection(s, store, "http://127.0.0.1:9/casino")
        d.status = DetectionStatus.CONFIRMED
        nid = build_drafts(s, authority="Орган").notices[0].id
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["notices", "export", str(nid), "--format", "json", "--output", str(out / "n.json")],
        env=env(settings),
    )
    assert r.exit_code == 0, r.output
    assert (
        json.loads((out / "n.json").read_text())["facts"][0]["url"] == "http://127.0.0.1:9/casino"
    )
    r = runner.invoke(
        app,
        ["notices", "export", str(nid), "--format", "pdf", "--output", str(out / "n.pdf")],
        env=env(settings),
    )
    assert r.exit_code == 0 and (out / "n.pdf").read_bytes().startswith(b"%PDF")
    r = runner.invoke(
        app,
        ["notices", "export", "999", "--format", "json", "--output", str(out / "x.json")],
        env=env(settings),
    )
    assert (
        r.exit_code == 1
        and "notice 999 does not exist" in r.output
        and not (out / "x.json").exists()
    )


def test_users_add_reads_password_from_env(settings) -> None:
    r = CliRunner().invoke(
        app,
        ["users", "add", "head1", "--role", "head", "--password-env", "PW"],
        env=env(settings, PW="a long enough password"),
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, ["users", "add", "short", "--password-env", "PW"], env=env(settings, PW="short")
    )
    assert r.exit_code == 1 and "12" in r.output  # the minimum length, in kk


def test_crawl_command_shows_progress_and_a_table(settings, sample_site, chromium) -> None:
    runner = CliRunner()
    e = {**env(settings), "COLUMNS": "160"}
    assert runner.invoke(app, ["crawl"], env=e).exit_code == 2  # says what to crawl
    r = runner.invoke(
        app, ["sources", "add", "s", sample_site.urls["site"], "--allow-private"], env=e
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["crawl", "--all"], env=e)
    assert r.exit_code == 0, r.output
    assert "fetched" in r.output and "detections" in r.output  # the live progress table
    row = next(line for line in r.output.splitlines() if " s " in line and "succeeded" in line)
    assert row.split("│")[4].strip() == "6"  # fetched: 5 pages + the 404
    assert "captures: 1 succeeded, 0 failed" in r.output  # the flagged page, captured at once
    r = runner.invoke(app, ["crawl", "--resume"], env=e)
    assert r.exit_code == 1 and "no interrupted crawl to resume" in r.output


def test_demo_summary_names_violation_types_in_the_chosen_language(settings) -> None:
    from rich.console import Console

    from kuzet.cli import demo_table
    from kuzet.demo import DemoResult
    from rules.loader import VIOLATION_TYPES_FILE, load_violation_types

    names = load_violation_types(settings.rules_dir / VIOLATION_TYPES_FILE)
    result = DemoResult(pages=16, failed_fetches=1, detections={"online_gambling": 6, "new": 1})
    for lang in ("kk", "ru"):
        console = Console(width=200, record=True)
        console.print(demo_table(result, {k: v.get(lang) for k, v in names.items()}, lang))
        text = console.export_text()
        assert names["online_gambling"].get(lang) in text
        assert "online_gambling" not in text
        assert ": new" in text  # a type the catalog lacks keeps its code
