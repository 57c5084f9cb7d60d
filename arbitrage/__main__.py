"""`python -m arbitrage` runs the `arbitrage` command."""

from arbitrage.cli.app import main

raise SystemExit(main())
