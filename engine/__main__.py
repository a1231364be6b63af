"""`python -m engine ...`: the command line over the library."""

import os

# Idle OpenMP threads sleep instead of spinning: on a small machine where the studio, a
# training run and a benchmark share the cores, spinning threads starve their neighbours.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from engine.cli import main  # noqa: E402

raise SystemExit(main())
