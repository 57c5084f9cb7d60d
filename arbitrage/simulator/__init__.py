"""Exchange simulator: one exchange-neutral engine + per-exchange HTTP dialects (see engine.py, dialects/)."""
