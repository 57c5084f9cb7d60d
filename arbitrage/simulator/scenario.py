"""Scenario files (JSON or YAML): venues with instruments, accounts, prices and funding schedules.

```yaml
venues:
  binanceusdm:
    settings: {slippage_bps: 0, refuse_leverage_change_with_position: false, options: {},
               rate_limits: {scale: 1, rules: {}}, new_connection_delay_ms: 0,   # see rate_limits.py
               clock_offset_ms: 0}              # its clock minus the host's: timestamps, stamps, funding
    instruments:
      - symbol: BTC/USDT:USDT
        tick_size: "0.10"
        step_size: "0.001"             # in the venue's order unit (contracts on MEXC, with contract_size)
        min_qty: "0.001"
        max_qty: "120"
        min_notional: "100"
        tiers: [[0, 50000, 125, "0.004"], [50000, 600000, 100, "0.005"]]  # floor, cap, max leverage, MMR
        mark_price: "60000"
        funding_rate: "0.0001"
        funding_interval_hours: 8      # or funding_interval_seconds: 5
        next_funding_in_seconds: 20    # or next_funding_time: <ms>; default: next interval boundary (00/08/16 UTC)
        settlement_delay_seconds: 0
        market_liquidity: "0.5"        # optional: most one market order fills (order units); the rest expires
        book_half_spread_ticks: 1      # optional order book (order_book.py): best bid/ask ticks from the mark,
        book_step_ticks: 1             #   ticks between levels, order units per level (default 1000 × min_qty),
        book_level_qty: "0.5"          #   levels per side
        book_levels: 200
    accounts:
      - {api_key: sim-binanceusdm-key, secret: "...", balance: "10000", position_mode: one_way}
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from arbitrage.simulator.engine import Engine, tier_from_any, to_decimal
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import VenueConfig

DEFAULT_SCENARIO = Path(__file__).with_name("scenarios") / "default.json"

_INSTRUMENT_DECIMALS = ("tick_size", "step_size", "min_qty", "max_qty", "min_notional", "mark_price")
_OPTIONAL_DECIMALS = (
    "contract_size", "maker_fee", "taker_fee", "index_price", "funding_rate", "market_liquidity", "book_level_qty",
)
_OPTIONAL_INTS = ("book_half_spread_ticks", "book_step_ticks", "book_levels")
_VENUE_SETTINGS = {
    "id_style", "id_starts", "refuse_leverage_change_with_position", "slippage_bps", "options", "rate_limits",
    "new_connection_delay_ms", "clock_offset_ms",
}


class ScenarioError(ValueError):
    """The scenario file cannot be used; the message names the file, the place and the fix."""


@dataclass
class Scenario:
    data: dict[str, Any]
    source: str = "<dict>"

    def apply(self, engine: Engine) -> None:
        """Load into ``engine``; ``engine.reset()`` rebuilds from this scenario (relative times recomputed)."""
        engine.load(self.build)

    def build(self, engine: Engine) -> None:
        venues = self.data.get("venues")
        if not isinstance(venues, Mapping) or not venues:
            raise ScenarioError(f"{self.source}: needs a non-empty 'venues' mapping of exchange id → venue")
        for exchange_id, venue_data in venues.items():
            where = f"{self.source}: venues.{exchange_id}"
            if not isinstance(venue_data, Mapping):
                raise ScenarioError(f"{where}: must be a mapping")
            settings = dict(venue_data.get("settings") or {})
            unknown = set(settings) - _VENUE_SETTINGS
            if unknown:
                raise ScenarioError(f"{where}.settings: unknown keys {sorted(unknown)}; allowed {sorted(_VENUE_SETTINGS)}")
            try:
                venue = engine.add_venue(VenueConfig.for_exchange(str(exchange_id), **settings))
            except (TypeError, ValueError, InvalidOperation) as error:
                raise ScenarioError(f"{where}.settings: {error}") from error
            for index, item in enumerate(venue_data.get("instruments") or []):
                engine.add_instrument(str(exchange_id), instrument_from_dict(item, f"{where}.instruments[{index}]", venue.now()))
            for index, item in enumerate(venue_data.get("accounts") or []):
                _account(engine, str(exchange_id), item, f"{where}.accounts[{index}]")


def load_scenario(source: Path | str | Mapping[str, Any] | Scenario | None = None) -> Scenario:
    """Read and validate a scenario (None → the shipped default). Raises ScenarioError with a clear message."""
    if isinstance(source, Scenario):
        scenario = source
    elif isinstance(source, Mapping):
        scenario = Scenario(dict(source))
    else:
        path = Path(source) if source is not None else DEFAULT_SCENARIO
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ScenarioError(f"cannot read scenario file {path}: {error.strerror or error}") from error
        try:
            data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise ScenarioError(f"scenario file {path} is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {error}") from error
        if not isinstance(data, dict):
            raise ScenarioError(f"scenario file {path}: the top level must be a mapping with 'venues'")
        scenario = Scenario(data, str(path))
    scenario.build(Engine())  # validate now, so a bad file fails before anything starts
    return scenario


def instrument_from_dict(item: Any, where: str, now_ms: int) -> Instrument:
    if not isinstance(item, Mapping):
        raise ScenarioError(f"{where}: must be a mapping")
    symbol = item.get("symbol")
    if not isinstance(symbol, str) or "/" not in symbol:
        raise ScenarioError(f"{where}: 'symbol' must be a ccxt unified symbol like BTC/USDT:USDT")
    base, rest = symbol.split("/", 1)
    quote = rest.split(":", 1)[0]
    try:
        values: dict[str, Any] = {name: _decimal(item, name, where) for name in _INSTRUMENT_DECIMALS}
        for name in _OPTIONAL_DECIMALS:
            if item.get(name) is not None:
                values[name] = _decimal(item, name, where)
        tiers = [tier_from_any(tier) for tier in item.get("tiers") or []]
        ints = {name: int(item[name]) for name in _OPTIONAL_INTS if item.get(name) is not None}
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise ScenarioError(f"{where}: invalid tiers or number ({error})") from error
    if not tiers:
        raise ScenarioError(f"{where}: 'tiers' needs at least one [floor, cap, max_leverage, maint_margin_rate]")
    if values["step_size"] <= 0 or values["tick_size"] <= 0:
        raise ScenarioError(f"{where}: tick_size and step_size must be positive")
    interval_s = _interval_seconds(item, where)
    next_time = item.get("next_funding_time")
    if item.get("next_funding_in_seconds") is not None:
        next_time = now_ms + int(round(float(item["next_funding_in_seconds"]) * 1000))
    elif next_time is None:
        interval_ms = interval_s * 1000
        next_time = (now_ms // interval_ms + 1) * interval_ms
    return Instrument(
        symbol=symbol,
        base=str(item.get("base", base)),
        quote=str(item.get("quote", quote)),
        tiers=tiers,
        default_leverage=int(item.get("default_leverage", 20)),
        min_leverage=int(item.get("min_leverage", 1)),
        funding_interval_s=interval_s,
        next_funding_time=int(next_time),
        settlement_delay_s=float(item.get("settlement_delay_seconds", 0)),
        listed=bool(item.get("listed", True)),
        extra=dict(item.get("extra") or {}),
        **ints,
        **values,
    )


def _interval_seconds(item: Mapping[str, Any], where: str) -> int:
    if item.get("funding_interval_seconds") is not None:
        seconds = int(item["funding_interval_seconds"])
    else:
        seconds = int(Decimal(str(item.get("funding_interval_hours", 8))) * 3600)
    if seconds <= 0:
        raise ScenarioError(f"{where}: the funding interval must be positive")
    return seconds


def _account(engine: Engine, exchange_id: str, item: Any, where: str) -> None:
    if not isinstance(item, Mapping) or not item.get("api_key") or not item.get("secret"):
        raise ScenarioError(f"{where}: an account needs 'api_key' and 'secret'")
    mode = str(item.get("position_mode", "one_way")).lower().replace("-", "_")
    if mode not in ("one_way", "hedge"):
        raise ScenarioError(f"{where}: position_mode must be 'one_way' or 'hedge', not {mode!r}")
    try:
        balance = to_decimal(item.get("balance", "10000"))
    except InvalidOperation as error:
        raise ScenarioError(f"{where}: balance is not a number") from error
    engine.add_account(
        exchange_id,
        str(item["api_key"]),
        str(item["secret"]),
        balance,
        hedge_mode=mode == "hedge",
        name=str(item.get("name", "")),
    )


def _decimal(item: Mapping[str, Any], name: str, where: str) -> Decimal:
    if item.get(name) is None:
        raise ScenarioError(f"{where}: '{name}' is required")
    try:
        return to_decimal(item[name])
    except InvalidOperation:
        raise ScenarioError(f"{where}: '{name}' must be a number, got {item[name]!r}") from None


def generated_scenario(instruments_per_venue: int, *, base: Path | None = None) -> dict[str, Any]:
    """The default scenario with `instruments_per_venue` USDT perpetuals on every venue (for refresh benchmarks):
    the shipped instruments first, then synthetic `SYMnnnn/USDT:USDT` copies of the last one with varied prices."""
    data: dict[str, Any] = json.loads((base or DEFAULT_SCENARIO).read_text(encoding="utf-8"))
    for venue in data["venues"].values():
        shipped: list[dict[str, Any]] = venue["instruments"]
        template = shipped[-1]
        for index in range(max(0, instruments_per_venue - len(shipped))):
            price = Decimal(template["mark_price"]) * (1 + Decimal(index % 97) / 100)
            shipped.append({**template, "symbol": f"SYM{index:04d}/USDT:USDT", "mark_price": str(price)})
        del shipped[instruments_per_venue:]
    return data
