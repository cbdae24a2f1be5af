from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from kuzet.config import Settings
from kuzet.db import Database
from kuzet.sites import SiteServer, demo_server

SAMPLE = Path(__file__).resolve().parent / "sample_data"
CHROMIUM = Settings.from_env({}).chromium_path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian's Chromium")
    config.addinivalue_line("markers", "both_databases: run on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Data-layer and pipeline tests marked ``both_databases`` run on SQLite and PostgreSQL.
    if metafunc.definition.get_closest_marker("both_databases") and (
        "backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """Commands run in-process (CliRunner) may set up logging; each test starts clean."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    from tests.pgserver import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[object]:
    from tests.redisserver import RedisServer

    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Settings:
    env = {"KUZET_HOME": str(tmp_path / "home"), "KUZET_CHROMIUM": CHROMIUM}
    # Test pages live on 127.0.0.1: captures of no source may reach it (the network
    # guard's own tests take this away and use other loopback addresses as "internal").
    env["KUZET_CAPTURE_ALLOW_PRIVATE"] = "127.0.0.1"
    if backend == "postgresql":
        env["KUZET_DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    return Settings.from_env(env)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def sample_site() -> Iterator[SiteServer]:
    with SiteServer({"site": SAMPLE / "site"}) as server:
        yield server


@pytest.fixture(scope="session")
def demo_sites() -> Iterator[SiteServer]:
    with demo_server() as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run ./scripts/setup")
    return CHROMIUM


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
