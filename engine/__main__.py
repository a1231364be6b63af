"""`python -m engine ...`: the command line over the library."""

from engine.cli import main

raise SystemExit(main())
