"""Everything that knows an exchange: the connector interface and its ccxt implementation."""
