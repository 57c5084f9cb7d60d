"""SimulatorServer / run_forever: URLs, credentials, env file, signals, scenario errors, routing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arbitrage.simulator.scenario import ScenarioError, load_scenario
from arbitrage.simulator.server import SimulatorServer, run_forever


async def test_env_vars_and_env_file(sim: SimulatorServer, tmp_path: Path) -> None:
    env = sim.env_vars()
    assert env["ARBITRAGE_EXCHANGES__BINANCEUSDM__BASE_URL"] == f"http://127.0.0.1:{sim.port}/binanceusdm"
    assert env["ARBITRAGE_EXCHANGES__MEXC__API_KEY"] == "sim-mexc-key"
    assert env["ARBITRAGE_EXCHANGES__BYBIT__SECRET"] == sim.credentials("bybit")[1]
    assert len(env) == 12
    path = sim.write_env_file(tmp_path / "sim.env")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert dict(line.split("=", 1) for line in lines) == env


async def test_unknown_exchange_and_missing_dialect(scenario: dict[str, Any]) -> None:
    scenario["venues"]["kraken"] = scenario["venues"]["bybit"]  # a venue with no dialect module
    async with SimulatorServer(scenario=scenario) as sim, aiohttp.ClientSession() as http:
        async with http.get(f"{sim.url}/nowhere/api") as response:
            assert response.status == 404
        async with http.get(f"{sim.base_url('kraken')}/api/v1/time") as response:
            assert response.status == 501
        async with http.get(f"{sim.base_url('binanceusdm')}/fapi/v9/unknown") as response:
            assert response.status == 404
        assert [record.status for record in sim.requests.query()] == [404, 501, 404]


async def test_run_forever_prints_urls_writes_env_and_stops_on_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "sim.env"
    task = asyncio.create_task(run_forever(None, "127.0.0.1", 0, env_file))
    for _ in range(500):  # wait for start-up (the env file is written once the signal handlers are in place)
        if env_file.exists() or task.done():
            break
        await asyncio.sleep(0.01)
    assert env_file.exists(), task
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    out = capsys.readouterr().out
    for exchange_id in ("binanceusdm", "bybit", "bingx", "mexc"):
        assert f"/{exchange_id}" in out
    assert "--env-file" in out


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("{not json", ".json", "not valid JSON"),
        ("venues: [1, 2", ".yaml", "not valid YAML"),
        (json.dumps({"venues": {}}), ".json", "non-empty 'venues'"),
        (json.dumps({"venues": {"bybit": {"instruments": [{"symbol": "BTC/USDT:USDT"}]}}}), ".json", "'tick_size'"),
        (json.dumps({"venues": {"bybit": {"accounts": [{"api_key": "k"}]}}}), ".json", "'api_key' and 'secret'"),
    ],
)
def test_invalid_scenario_files_raise_clear_errors(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(tmp_path / "absent.json")


def test_yaml_scenario_with_relative_funding(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "venues:\n"
        "  bingx:\n"
        "    instruments:\n"
        "      - {symbol: BTC/USDT:USDT, tick_size: '0.1', step_size: '0.0001', min_qty: '0.0001', max_qty: '100',\n"
        "         min_notional: '2', mark_price: '60000', tiers: [[0, 300000, 125, '0.004']],\n"
        "         funding_interval_seconds: 5, next_funding_in_seconds: 3}\n"
        "    accounts: [{api_key: k, secret: s, position_mode: hedge}]\n"
    )
    scenario = load_scenario(path)
    sim = SimulatorServer(scenario=scenario)
    instrument = sim.engine.venue("bingx").instrument("BTC/USDT:USDT")
    assert instrument.funding_interval_s == 5
    assert 0 < instrument.next_funding_time - sim.engine.now() <= 3000
    assert sim.engine.account("bingx").hedge_mode is True
    assert sim.engine.venue("bingx").config.refuse_leverage_change_with_position is True


def test_default_scenario_funding_on_8h_boundary() -> None:
    sim = SimulatorServer()
    for venue in sim.engine.venues.values():
        for instrument in venue.instruments.values():
            assert instrument.next_funding_time % (8 * 3600 * 1000) == 0
            assert 0 < instrument.next_funding_time - sim.engine.now() <= 8 * 3600 * 1000
