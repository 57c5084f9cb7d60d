"""config/arbitrage.service: the directives the daemon relies on, `systemd-analyze verify` clean, exposure low."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "config" / "arbitrage.service"
INSTALLED_EXEC = "/opt/arbitrage/.venv/bin/arbitrage"
needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """section → key → values (systemd allows a key several times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_unit_is_notify_with_watchdog_restart_user_state_and_hardening():
    service = directives(UNIT.read_text())["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert int(one["WatchdogSec"]) > 0 and one["Restart"] == "on-failure"
    assert one["User"] == one["Group"] == "arbitrage" and one["StateDirectory"] == "arbitrage"
    assert one["WorkingDirectory"] == "/var/lib/arbitrage" and one["EnvironmentFile"].startswith("/etc/arbitrage/")
    assert one["ExecStart"] == f"{INSTALLED_EXEC} run"
    for key, value in {
        "NoNewPrivileges": "true", "ProtectSystem": "strict", "ProtectHome": "true", "PrivateTmp": "true",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": "",
    }.items():
        assert one[key] == value, key
    assert "@system-service" in service["SystemCallFilter"]


def _installable_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart pointing at this checkout's executable: verify insists that it exists."""
    executable = Path(sys.executable).parent / "arbitrage"
    assert executable.is_file()
    path = tmp_path / "arbitrage.service"
    path.write_text(text.replace(INSTALLED_EXEC, str(executable)))
    return path


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)


@needs_systemd_analyze
def test_systemd_analyze_verify_passes_without_a_warning(tmp_path: Path):
    result = _verify(_installable_copy(tmp_path, UNIT.read_text()))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path):
    """The check above can fail: a misspelt value is reported (verify still exits 0 for it, hence stderr)."""
    broken = UNIT.read_text().replace("Type=notify", "Type=notfy")
    result = _verify(_installable_copy(tmp_path, broken))
    assert "Failed to parse service type" in result.stderr


@needs_systemd_analyze
def test_security_exposure_is_at_most_2(tmp_path: Path):
    # --threshold counts tenths of the 0..10 exposure scale `systemd-analyze security` prints
    path = _installable_copy(tmp_path, UNIT.read_text())
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-500:]
