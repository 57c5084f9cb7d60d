"""The `arbitrage` command: parse the options, call a service, present the result (entry point: `app.main`)."""
