"""Funding-rate arbitrage daemon for perpetual futures."""

__version__ = "0.1.0"
