"""`python -m arbitrage` runs the `arbitrage` command."""

from arbitrage.cli import main

raise SystemExit(main())
