from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from arbitrage.db.urls import async_database_url, database_backend
from arbitrage.settings import AutoSettings, Settings, SettingsError, load_settings

SECRET = "s3cr3t-value-never-printed"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ARBITRAGE_* from the developer's shell, and a working directory without a .env."""
    for name in list(os.environ):
        if name.startswith("ARBITRAGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///arbitrage.db"
    assert settings.async_database_url == "sqlite+aiosqlite:///arbitrage.db"
    assert (settings.lead_seconds, settings.default_leverage, settings.log_level) == (5, 3, "INFO")
    assert settings.funding_confirm_timeout_seconds == 120
    assert settings.min_funding_rate == Decimal(0)
    assert settings.markets_refresh_minutes == 60
    assert settings.leverage_sync_ahead_seconds == 30
    assert settings.poll_interval_seconds == 2
    assert settings.order_timeout_seconds == 10
    assert {e: settings.min_lead_seconds(e) for e in ("binanceusdm", "bybit", "bingx", "mexc")} == {
        "binanceusdm": 0,
        "bybit": 0,
        "bingx": 30,
        "mexc": 0,
    }
    assert settings.configured_exchanges == []


def test_exchange_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__API_KEY", "key-1234")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SECRET", SECRET)
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SANDBOX", "true")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BINANCE__BASE_URL", "http://127.0.0.1:9000/binanceusdm/")  # alias
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BINGX__API_KEY", "only-a-key")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BINGX__MIN_LEAD_SECONDS", "40")
    settings = load_settings()
    bybit = settings.exchange("bybit")
    assert bybit.api_key is not None and bybit.api_key.get_secret_value() == "key-1234"
    assert bybit.sandbox is True
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    assert settings.exchange("binanceusdm").base_url == "http://127.0.0.1:9000/binanceusdm"
    assert settings.configured_exchanges == ["binanceusdm", "bybit"]  # bingx has a key but no secret
    assert settings.min_lead_seconds("bingx") == 40
    assert set(settings.secret_values()) == {"key-1234", SECRET, "only-a-key"}


def test_precedence_environment_over_env_file_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "ARBITRAGE_LEAD_SECONDS=7\nARBITRAGE_DEFAULT_LEVERAGE=4\nARBITRAGE_LOG_LEVEL=debug\n"
    )
    other = tmp_path / "other.env"
    other.write_text("ARBITRAGE_LEAD_SECONDS=9\nARBITRAGE_DEFAULT_LEVERAGE=6\nCOMPOSE_PROJECT_NAME=ignored\n")
    assert load_settings().lead_seconds == 7
    settings = load_settings(other)
    assert (settings.lead_seconds, settings.default_leverage, settings.log_level) == (9, 6, "DEBUG")
    monkeypatch.setenv("ARBITRAGE_ENV_FILE", str(other))
    assert load_settings().lead_seconds == 9
    monkeypatch.setenv("ARBITRAGE_LEAD_SECONDS", "11")
    assert load_settings().lead_seconds == 11


@pytest.mark.parametrize(
    ("url", "backend", "async_url"),
    [
        ("sqlite:///arbitrage.db", "sqlite", "sqlite+aiosqlite:///arbitrage.db"),
        ("sqlite:////var/lib/arbitrage/a.db", "sqlite", "sqlite+aiosqlite:////var/lib/arbitrage/a.db"),
        ("sqlite+aiosqlite:///a.db", "sqlite", "sqlite+aiosqlite:///a.db"),
        ("postgresql://u:p@db:5432/arb", "postgresql", "postgresql+asyncpg://u:p@db:5432/arb"),
        ("postgres://u@db/arb", "postgresql", "postgresql+asyncpg://u@db/arb"),
        ("postgresql+asyncpg://u@db/arb", "postgresql", "postgresql+asyncpg://u@db/arb"),
    ],
)
def test_database_urls(url: str, backend: str, async_url: str) -> None:
    assert database_backend(url) == backend
    assert async_database_url(url) == async_url
    assert Settings(database_url=url).async_database_url == async_url


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ARBITRAGE_LEAD_SECONDS", "soon", "invalid setting ARBITRAGE_LEAD_SECONDS: Input should be a valid integer"),
        (
            "ARBITRAGE_LEAD_SECONDS",
            "-1",
            "invalid setting ARBITRAGE_LEAD_SECONDS: Input should be greater than or equal to 0",
        ),
        (
            "ARBITRAGE_DEFAULT_LEVERAGE",
            "200",
            "invalid setting ARBITRAGE_DEFAULT_LEVERAGE: Input should be less than or equal to 125",
        ),
        (
            "ARBITRAGE_DATABASE_URL",
            "mysql://root:hunter2@db/x",
            "invalid setting ARBITRAGE_DATABASE_URL: must be a sqlite:///PATH or postgresql://",
        ),
        ("ARBITRAGE_LOG_FORMAT", "xml", "invalid setting ARBITRAGE_LOG_FORMAT: Input should be 'json' or 'console'"),
        ("ARBITRAGE_LOG_LEVEL", "LOUD", "invalid setting ARBITRAGE_LOG_LEVEL:"),
        ("ARBITRAGE_MIN_FUNDING_RATE", "lots", "invalid setting ARBITRAGE_MIN_FUNDING_RATE:"),
        (
            "ARBITRAGE_MIN_FUNDING_RATE",
            "NaN",
            "invalid setting ARBITRAGE_MIN_FUNDING_RATE: Input should be a finite number",
        ),
        ("ARBITRAGE_POLL_INTERVAL_SECONDS", "0", "invalid setting ARBITRAGE_POLL_INTERVAL_SECONDS:"),
        ("ARBITRAGE_ORDER_TIMEOUT_SECONDS", "x", "invalid setting ARBITRAGE_ORDER_TIMEOUT_SECONDS:"),
        (
            "ARBITRAGE_FUNDING_CONFIRM_TIMEOUT_SECONDS",
            "x",
            "invalid setting ARBITRAGE_FUNDING_CONFIRM_TIMEOUT_SECONDS:",
        ),
        ("ARBITRAGE_MARKETS_REFRESH_MINUTES", "0", "invalid setting ARBITRAGE_MARKETS_REFRESH_MINUTES:"),
        ("ARBITRAGE_LEVERAGE_SYNC_AHEAD_SECONDS", "x", "invalid setting ARBITRAGE_LEVERAGE_SYNC_AHEAD_SECONDS:"),
        (
            "ARBITRAGE_EXCHANGES__BYBIT__SANDBOX",
            "maybe",
            "invalid setting ARBITRAGE_EXCHANGES__BYBIT__SANDBOX: Input should be a valid boolean",
        ),
        (
            "ARBITRAGE_EXCHANGES__BYBIT__BASE_URL",
            "ftp://x",
            "invalid setting ARBITRAGE_EXCHANGES__BYBIT__BASE_URL: must be an http(s) URL",
        ),
        (
            "ARBITRAGE_EXCHANGES__BINGX__MIN_LEAD_SECONDS",
            "-5",
            "invalid setting ARBITRAGE_EXCHANGES__BINGX__MIN_LEAD_SECONDS:",
        ),
        (
            "ARBITRAGE_EXCHANGES__BYBIT__APIKEY",
            SECRET,
            "invalid setting ARBITRAGE_EXCHANGES__BYBIT__APIKEY: unknown setting",
        ),
        (
            "ARBITRAGE_EXCHANGES__KRAKEN__API_KEY",
            SECRET,
            "invalid setting ARBITRAGE_EXCHANGES: unknown exchange id 'kraken'",
        ),
        ("ARBITRAGE_EXCHANGES__BYBIT", SECRET, "invalid setting ARBITRAGE_EXCHANGES__BYBIT:"),
        ("ARBITRAGE_EXCHANGES", SECRET, "invalid setting ARBITRAGE_EXCHANGES: not valid JSON"),
    ],
)
def test_invalid_setting_gives_one_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert len(raised.value.lines) == 1
    line = raised.value.lines[0]
    assert line.startswith(expected)
    assert "\n" not in line
    assert value not in line or value in {"0", "-1", "200"}  # never echoes what was given (numbers are harmless)
    assert "hunter2" not in line


def test_unknown_name_in_env_file_is_reported(tmp_path: Path) -> None:
    env_file = tmp_path / "arb.env"
    env_file.write_text(f"ARBITRAGE_LEAD_SECOND=5\nARBITRAGE_EXCHANGES__BYBIT__SECRET={SECRET}\nOTHER_TOOL=1\n")
    with pytest.raises(SettingsError) as raised:
        load_settings(env_file)
    assert raised.value.lines == [f"invalid setting ARBITRAGE_LEAD_SECOND (in {env_file}): unknown setting"]


def test_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="env file not found"):
        load_settings(tmp_path / "missing.env")


def test_two_invalid_settings_give_two_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_LEAD_SECONDS", "x")
    monkeypatch.setenv("ARBITRAGE_DEFAULT_LEVERAGE", "y")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert sorted(line.split(":")[0] for line in raised.value.lines) == [
        "invalid setting ARBITRAGE_DEFAULT_LEVERAGE",
        "invalid setting ARBITRAGE_LEAD_SECONDS",
    ]


@pytest.mark.parametrize(
    ("configured", "is_tty", "expected"),
    [(None, True, "console"), (None, False, "json"), ("json", True, "json"), ("console", False, "console")],
)
def test_log_format_default_depends_on_terminal(configured: str | None, is_tty: bool, expected: str) -> None:
    class Stream:
        def isatty(self) -> bool:
            return is_tty

    assert Settings(log_format=configured).resolved_log_format(Stream()) == expected


def test_example_env_file_documents_every_setting() -> None:
    example = (Path(__file__).parents[2] / "config" / "arbitrage.env.example").read_text()
    for name in Settings.model_fields:
        if name not in ("exchanges", "auto"):
            assert f"ARBITRAGE_{name.upper()}=" in example, name
    for name in AutoSettings.model_fields:
        assert f"ARBITRAGE_AUTO__{name.upper()}=" in example, name
    for exchange in ("BINANCEUSDM", "BYBIT", "BINGX", "MEXC"):
        for field in ("API_KEY", "SECRET", "PASSWORD", "SANDBOX", "BASE_URL", "MIN_LEAD_SECONDS"):
            assert f"ARBITRAGE_EXCHANGES__{exchange}__{field}=" in example, (exchange, field)


def test_example_env_file_values_are_valid(tmp_path: Path) -> None:
    """Uncommenting every line of the example gives valid settings equal to the defaults."""
    example = (Path(__file__).parents[2] / "config" / "arbitrage.env.example").read_text()
    lines = [line.removeprefix("# ").removeprefix("#") for line in example.splitlines()]
    settings_lines = [line for line in lines if line.startswith("ARBITRAGE_") and "=" in line]
    env_file = tmp_path / "uncommented.env"
    env_file.write_text("\n".join(settings_lines) + "\n")
    assert load_settings(env_file).model_dump() == load_settings().model_dump()


def test_auto_subscribe_settings_from_an_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "auto.env"
    env_file.write_text("ARBITRAGE_AUTO__ENABLED=true\nARBITRAGE_AUTO__EXCHANGES=bybit, Binance\n"
                        "ARBITRAGE_AUTO__SYMBOLS=btc/usdt:usdt\nARBITRAGE_AUTO__MIN_NET_BPS=2.5\n"
                        "ARBITRAGE_AUTO__MAX_NOTIONAL_PER_EXCHANGE=2500\n")
    auto = load_settings(env_file).auto
    assert (auto.enabled, auto.exchanges, auto.symbols) == (True, ["bybit", "binanceusdm"], ["BTC/USDT:USDT"])
    assert (auto.min_net_bps, auto.max_notional_per_exchange) == (Decimal("2.5"), Decimal(2500))
    assert load_settings().auto == AutoSettings()  # off by default


@pytest.mark.parametrize(("line", "expected"), [
    ("ARBITRAGE_AUTO__ENABLE=true", "invalid setting ARBITRAGE_AUTO__ENABLE (in {file}): unknown setting"),
    ("ARBITRAGE_AUTO__EXCHANGES=kraken", "invalid setting ARBITRAGE_AUTO__EXCHANGES: unknown exchange id 'kraken' "
                                         "(choose from binanceusdm, bybit, bingx, mexc)"),
    ("ARBITRAGE_AUTO__NOTIONAL_USDT=0",
     "invalid setting ARBITRAGE_AUTO__NOTIONAL_USDT: Input should be greater than 0"),
    ("ARBITRAGE_AUTO__SCAN_AHEAD_SECONDS=5", "invalid setting ARBITRAGE_AUTO__SCAN_AHEAD_SECONDS: Input should be "
                                             "greater than or equal to 10"),
])
def test_bad_auto_subscribe_setting_is_one_line(tmp_path: Path, line: str, expected: str) -> None:
    env_file = tmp_path / "auto.env"
    env_file.write_text(line + "\n")
    with pytest.raises(SettingsError) as raised:
        load_settings(env_file)
    assert raised.value.lines == [expected.format(file=env_file)]
