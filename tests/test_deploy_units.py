"""The systemd units shipped in deploy/ confine every kuzet process: a dedicated user, a
read-only system with KUZET_HOME the only writable place, no capabilities, no new
privileges, and only the namespaces Chromium's own sandbox needs where a browser runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# The units whose processes start Chromium: captures, re-checks, rendered crawling.
BROWSER_UNITS = {"kuzet-capture@.service", "kuzet-crawl@.service", "kuzet-worker@.service"}

HARDENING = {
    "User": "kuzet",
    "Group": "kuzet",
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictRealtime": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "SystemCallArchitectures": "native",
    "EnvironmentFile": "/etc/kuzet/kuzet.env",
}


def service_section(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit file, each with every value it is given (systemd
    allows a key more than once)."""
    section, keys = "", {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        assert not line.endswith("\\"), f"{path.name}: continued lines are not expected"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {raw!r}"
        if section == "Service":
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def kuzet_home() -> str:
    text = (DEPLOY / "kuzet.env.example").read_text()
    match = re.search(r"^KUZET_HOME=(\S+)$", text, re.M)
    assert match, "deploy/kuzet.env.example sets no KUZET_HOME"
    return match.group(1)


def test_all_five_units_are_there() -> None:
    assert [u.name for u in UNITS] == [
        "kuzet-capture@.service",
        "kuzet-crawl@.service",
        "kuzet-scheduler.service",
        "kuzet-web.service",
        "kuzet-worker@.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_confined(unit: Path) -> None:
    keys = service_section(unit)
    for key, value in HARDENING.items():
        assert keys.get(key) == [value], f"{unit.name}: {key}={value} expected, has {keys.get(key)}"
    # KUZET_HOME is the one writable path, and nothing else widens what may be written.
    assert keys.get("ReadWritePaths") == [kuzet_home()], unit.name
    for widening in ("ReadWriteDirectories", "StateDirectory", "LogsDirectory", "CacheDirectory"):
        assert widening not in keys, f"{unit.name}: {widening} makes more writable"
    assert "PermissionsStartOnly" not in keys and "+" not in keys["ExecStart"][0][:1]
    families = set(" ".join(keys["RestrictAddressFamilies"]).split())
    namespaces = set(" ".join(keys["RestrictNamespaces"]).split())
    if unit.name in BROWSER_UNITS:
        assert families == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}, unit.name
        # Chromium's sandbox: new user, PID and network namespaces for each renderer.
        assert namespaces == {"user", "pid", "net"}, unit.name
        # V8 and Node.js need writable+executable memory.
        assert keys.get("MemoryDenyWriteExecute", ["no"]) == ["no"], unit.name
        assert "kuzet" in keys["ExecStart"][0] and "worker" in keys["ExecStart"][0]
    else:
        assert families == {"AF_UNIX", "AF_INET", "AF_INET6"}, unit.name
        assert namespaces == {"yes"}, unit.name
        assert keys.get("MemoryDenyWriteExecute") == ["yes"], unit.name


@pytest.mark.parametrize("unit", [u for u in UNITS if u.name != "kuzet-web.service"])
def test_unit_keeps_its_graceful_stop(unit: Path) -> None:
    keys = service_section(unit)
    assert keys.get("KillMode") == ["mixed"] and keys.get("KillSignal") == ["SIGTERM"]
    assert keys.get("TimeoutStopSec"), unit.name


def _unit_root(tmp_path: Path) -> Path:
    """A root systemd-analyze can load the units from: the host's own system units, the
    units under test, and a stand-in for the kuzet executable they start."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    exe = root / "opt/kuzet/.venv/bin/kuzet"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return root


def _instances() -> list[str]:
    return [u.name.replace("@.", "@1.") for u in UNITS]


def test_systemd_accepts_every_directive(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None or not Path("/usr/lib/systemd/system").is_dir():
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    root = _unit_root(tmp_path)
    out = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", *_instances()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # Unknown keys and bad values are reported, not fatal: any output is a finding.
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr


def test_systemd_rates_the_exposure_low(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None or not Path("/usr/lib/systemd/system").is_dir():
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    root = _unit_root(tmp_path)
    for name in _instances():
        out = subprocess.run(
            [analyze, "security", "--offline=yes", f"--root={root}", "--no-pager", name],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", out.stdout)
        assert match, out.stdout + out.stderr
        # 10 is an unconfined root service; before this hardening these units rated 9.2+.
        limit = 4.0 if name.replace("@1.", "@.") in BROWSER_UNITS else 3.5
        assert float(match.group(1)) <= limit, f"{name}: {match.group(0)}"
