"""Accounts and secrets: the password policy (CLI and library), passwords kept off the
command line, the weak secret key refused at start, and the modes of KUZET_HOME and of
every secret file."""

from __future__ import annotations

import stat
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kuzet.cli import app as cli
from kuzet.config import EXAMPLE_SECRET_KEY, ConfigError, Settings
from kuzet.db import Database
from kuzet.models import AuditEvent, User
from kuzet.users import PasswordRejected, check_password, create_user
from review.app import create_app

PASSWORD = "correct horse battery"


# ------------------------------------------------------------------ (6) passwords


@pytest.mark.parametrize(
    ("username", "password", "key"),
    [
        ("asel", "short pass", "password.too_short"),
        ("aselkhan-officer", "Aselkhan-Officer", "password.is_username"),
        ("asel", "x-ASEL-2026-spring", "password.is_username"),
        ("asel", "Qwerty123456", "password.common"),
        ("asel", "1q2w3e4r5t6y", "password.common"),
        ("asel", "PasswordPassword", "password.common"),
    ],
)
def test_password_policy_refuses(username: str, password: str, key: str) -> None:
    with pytest.raises(PasswordRejected) as info:
        check_password(password, username)
    assert info.value.key == key
    assert len({info.value.localized(lang) for lang in ("kk", "ru", "en")}) == 3


def test_password_policy_accepts_a_good_one() -> None:
    check_password(PASSWORD, "officer1")
    check_password("тау-өзен-2026-жаңбыр", "asel")


def test_users_cli_applies_the_policy_and_warns_about_argv(settings, db) -> None:
    env = settings.to_env()
    runner = CliRunner()
    r = runner.invoke(
        cli, ["--lang", "ru", "users", "add", "asel", "--password-env", "PW"],
        env={**env, "PW": "qwerty123456"},
    )  # fmt: skip
    assert r.exit_code == 1 and "слишком распространён" in r.output
    argv = ["--lang", "en", "users", "add", "asel", "--password", PASSWORD]
    r = runner.invoke(cli, argv, env=env)
    assert r.exit_code == 0 and "visible to other users" in r.output
    r = runner.invoke(
        cli, ["--lang", "en", "users", "set-password", "asel", "--password-env", "PW"],
        env={**env, "PW": "asel-asel-asel"},
    )  # fmt: skip
    assert r.exit_code == 1 and "user name" in r.output
    r = runner.invoke(
        cli, ["--lang", "en", "users", "set-password", "asel", "--password-env", "PW"],
        env={**env, "PW": "a much better passphrase"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == "asel")).one()
        assert s.scalar(
            select(func.count()).where(
                AuditEvent.action == "user.password_changed", AuditEvent.object_id == str(user.id)
            )
        )
    with db.session() as s, pytest.raises(PasswordRejected):
        create_user(s, "bob", "bob")


# ------------------------------------------------------------------ (7) secret key


@pytest.mark.parametrize("key", [EXAMPLE_SECRET_KEY, "x" * 31])
def test_the_example_or_a_short_secret_key_is_refused(settings, db, key: str) -> None:
    weak = replace(settings, session_key=key)
    with pytest.raises(ConfigError):
        create_app(weak, db)
    r = CliRunner().invoke(cli, ["--lang", "en", "serve"], env={**weak.to_env()})
    assert r.exit_code == 2 and "KUZET_SECRET_KEY is weak" in r.output
    r = CliRunner().invoke(cli, ["--lang", "ru", "serve"], env={**weak.to_env()})
    assert r.exit_code == 2 and "KUZET_SECRET_KEY слабый" in r.output


def test_a_strong_key_is_taken_as_given(settings, db) -> None:
    key = "k" * 40
    assert replace(settings, session_key=key).secret_key() == key


# ------------------------------------------------------------------ (8) file modes


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_home_and_secret_files_are_private(tmp_path) -> None:
    from kuzet.demo import demo_officer
    from kuzet.profiles import save_state

    settings = Settings.from_env({"KUZET_HOME": str(tmp_path / "home")})
    db = Database.from_settings(settings)
    try:
        assert mode(settings.home) == 0o700
        settings.secret_key()
        assert mode(settings.home / "secret_key") == 0o600
        demo_officer(db, settings.home / "demo")
        assert mode(settings.home / "demo" / "officer.json") == 0o600
        assert mode(settings.home / "demo") == 0o700
        save_state(settings.profiles_dir / "p.json", {"cookies": []})
        assert mode(settings.profiles_dir / "p.json") == 0o600
        assert mode(settings.profiles_dir) == 0o700
    finally:
        db.dispose()
    # A home and a key left readable by an older version are tightened.
    old = Settings.from_env({"KUZET_HOME": str(tmp_path / "old")})
    old.home.mkdir(mode=0o755)
    old.home.chmod(0o755)
    (old.home / "secret_key").write_text("o" * 48)
    (old.home / "secret_key").chmod(0o644)
    assert old.secret_key() == "o" * 48
    assert mode(old.home) == 0o700 and mode(old.home / "secret_key") == 0o600
