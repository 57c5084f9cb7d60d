"""MEXC market bodies: contract/detail (with the risk-limit fields ccxt turns into leverage tiers), funding rate,
ticker."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from arbitrage.simulator.dialects.common import decimals_of, fmt, num, underscore_id
from arbitrage.simulator.instruments import Instrument

ZERO = Decimal(0)
QUANTUM = Decimal("1e-8")


# --------------------------------------------------------------------------- risk model (contract/detail)
@dataclass(frozen=True)
class RiskFields:
    """MEXC's linear risk-limit model: level i covers vol ((i−1)·incr_vol, i·incr_vol] with
    imr = imr0 + (i−1)·incr_imr and mmr = mmr0 + (i−1)·incr_mmr. ccxt builds leverage tiers from exactly these."""

    mmr: Decimal
    imr: Decimal
    incr_vol: Decimal
    incr_mmr: Decimal
    incr_imr: Decimal

    def level(self, vol: Decimal) -> int:
        if self.incr_vol <= 0 or vol <= 0:
            return 1
        return int(((vol - 1) / self.incr_vol).to_integral_value(rounding=ROUND_DOWN)) + 1

    def rates(self, level: int) -> tuple[Decimal, Decimal]:
        """(imr, mmr) of a level."""
        return self.imr + (level - 1) * self.incr_imr, self.mmr + (level - 1) * self.incr_mmr


def risk_fields(instrument: Instrument) -> RiskFields:
    """Scenario ``extra`` values when given (the default scenario matches its tiers), else derived from the tiers."""
    extra = instrument.extra
    tiers = instrument.tiers
    first = tiers[0]
    second = tiers[1] if len(tiers) > 1 else None

    def pick(name: str, fallback: Decimal) -> Decimal:
        return Decimal(str(extra[name])) if extra.get(name) is not None else fallback

    derived_imr = (Decimal(1) / Decimal(first.max_leverage)).quantize(QUANTUM)
    if second is None:
        derived_vol, derived_mmr, derived_imr_incr = ZERO, ZERO, ZERO
    else:
        derived_vol = (first.notional_cap / (instrument.contract_size * instrument.mark_price)).to_integral_value()
        derived_mmr = second.maint_margin_rate - first.maint_margin_rate
        derived_imr_incr = (Decimal(1) / Decimal(second.max_leverage)).quantize(QUANTUM) - derived_imr
    return RiskFields(
        mmr=pick("maintenanceMarginRate", first.maint_margin_rate),
        imr=pick("initialMarginRate", derived_imr),
        incr_vol=pick("riskIncrVol", derived_vol),
        incr_mmr=pick("riskIncrMmr", derived_mmr),
        incr_imr=pick("riskIncrImr", derived_imr_incr),
    )


def contract_detail(instrument: Instrument, index: int) -> dict[str, Any]:
    risk = risk_fields(instrument)
    symbol = underscore_id(instrument)
    max_vol = Decimal(str(instrument.extra.get("maxVol", instrument.max_qty)))
    return {
        "symbol": symbol,
        "displayName": f"{symbol}\u6c38\u7eed",
        "displayNameEn": f"{symbol} PERPETUAL",
        "positionOpenType": 3,
        "baseCoin": instrument.base,
        "quoteCoin": instrument.quote,
        "baseCoinName": instrument.base,
        "quoteCoinName": instrument.quote,
        "futureType": 1,
        "settleCoin": instrument.settle,
        "contractSize": num(instrument.contract_size),
        "minLeverage": instrument.min_leverage,
        "maxLeverage": instrument.max_leverage,
        "countryConfigContractMaxLeverage": 0,
        "priceScale": decimals_of(instrument.tick_size),
        "volScale": decimals_of(instrument.step_size),
        "amountScale": 4,
        "priceUnit": num(instrument.tick_size),
        "volUnit": num(instrument.step_size),
        "minVol": num(instrument.min_qty),
        "maxVol": num(max_vol),
        "bidLimitPriceRate": 0.2,
        "askLimitPriceRate": 0.2,
        "takerFeeRate": num(instrument.taker_fee),
        "makerFeeRate": num(instrument.maker_fee),
        "maintenanceMarginRate": num(risk.mmr),
        "initialMarginRate": num(risk.imr),
        "riskBaseVol": num(risk.incr_vol),
        "riskIncrVol": num(risk.incr_vol),
        "riskLongShortSwitch": 0,
        "riskIncrMmr": num(risk.incr_mmr),
        "riskIncrImr": num(risk.incr_imr),
        "riskLevelLimit": len(instrument.tiers),
        "priceCoefficientVariation": 0.01,
        "indexOrigin": ["BINANCE", "OKX"],
        "state": 0 if instrument.listed else 3,  # 0 enabled, 1 delivery, 2 completed, 3 offline, 4 pause
        "isNew": False,
        "isHot": False,
        "isHidden": False,
        "conceptPlate": [],
        "riskLimitType": "BY_VOLUME",
        "maxNumOrders": [200, 50],
        "marketOrderMaxLevel": 20,
        "marketOrderPriceLimitRate1": 0.2,
        "marketOrderPriceLimitRate2": 0.005,
        "triggerProtect": 0.1,
        "appraisal": 0,
        "showAppraisalCountdown": 0,
        "automaticDelivery": 0,
        "apiAllowed": True,
        "depthStepList": [fmt(instrument.tick_size * 10**step) for step in range(4)],
        "limitMaxVol": num(max_vol),
        "threshold": 0,
        "baseCoinIconUrl": "",
        "id": index + 1,
        "vid": f"{index + 1:032x}",
        "baseCoinId": "",
        "createTime": instrument.onboard_time,
        "openingTime": 0,
        "openingCountdownOption": 1,
        "showBeforeOpen": True,
        "isMaxLeverage": True,
        "isZeroFeeRate": instrument.taker_fee == 0 and instrument.maker_fee == 0,
    }


def collect_cycle(instrument: Instrument) -> int | float:
    return num(instrument.funding_interval_hours)


def funding_rate(instrument: Instrument, now: int) -> dict[str, Any]:
    return {
        "symbol": underscore_id(instrument),
        "fundingRate": num(instrument.funding_rate),
        "maxFundingRate": 0.003,
        "minFundingRate": -0.003,
        "collectCycle": collect_cycle(instrument),
        "nextSettleTime": instrument.next_funding_time,
        "timestamp": now,
    }


def ticker(instrument: Instrument, index: int, now: int) -> dict[str, Any]:
    mark = instrument.mark_price
    tick = instrument.tick_size
    return {
        "contractId": index + 1,
        "symbol": underscore_id(instrument),
        "lastPrice": num(mark),
        "bid1": num(mark - tick),
        "ask1": num(mark + tick),
        "volume24": 0,
        "amount24": 0,
        "holdVol": 0,
        "lower24Price": num(mark),
        "high24Price": num(mark),
        "riseFallRate": 0,
        "riseFallValue": 0,
        "indexPrice": num(instrument.effective_index_price),
        "fairPrice": num(mark),
        "fundingRate": num(instrument.funding_rate),
        "maxBidPrice": num((mark * Decimal("1.2") / tick).to_integral_value() * tick),
        "minAskPrice": num((mark * Decimal("0.8") / tick).to_integral_value() * tick),
        "timestamp": now,
        "riseFallRates": {},
        "riseFallRatesOfTimezone": [],
    }
