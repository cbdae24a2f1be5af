"""What every CLI command module shares: consoles, the context object, error exits."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from kuzet.config import Settings
from kuzet.db import Database

# soft_wrap: paths, URLs and passwords must stay on one line to be copied.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Ctx:
    settings: Settings
    _db: Database | None = None

    @property
    def lang(self) -> str:
        return self.settings.language

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database.from_settings(self.settings)
        return self._db


def ctx_of(ctx: typer.Context) -> Ctx:
    return ctx.obj  # type: ignore[no-any-return]


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)
