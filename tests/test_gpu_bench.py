"""bench/gpu_speed.py is the prepared script for a lent GPU (issue 24, target 8): its dry run on
the CPU goes through every row (training per precision and batch, the default's latency, DDP
over two processes) so that a session with a GPU spends its device time measuring, not fixing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_gpu_bench_dry_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, "bench/gpu_speed.py", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for precision in ("fp32 (reference)", "bf16"):
        for batch in (1, 2):
            rate = re.search(rf"train {re.escape(precision)}\s+batch\s+{batch}:\s+([\d.]+) img/s", out)
            assert rate and float(rate.group(1)) > 0, out
    assert len(re.findall(r"latency `default`.*p50\s+[\d.]+ ms", out)) == 2, out
    assert re.search(r"train DDP on 2 devices, batch 2 per device:\s+[\d.]+ img/s", out), out
    assert "failed" not in out
