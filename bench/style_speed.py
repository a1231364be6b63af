"""Style transfer speed: Gatys seconds per step (256 and 512 px), seconds to a finished 256 px
picture with the studio's defaults (in-process; bench/style_cli.py times the command line and
scores the pictures), and instant-mode latency at 512 px.

Every Gatys figure is set against the `pastiche` package's own implementation (PasticheArtist,
fp32, NCHW) on the same images with the same size, layers, pooling and L-BFGS (one evaluation
per step), so the ratio is studio/pastiche. pastiche's loader is swapped for one that reads its
weight file with `torch.load(weights_only=True)`: nothing is unpickled.

    python bench/style_speed.py [--steps 8] [--runs 20] [--threads N] [--content C] [--style S] [--full]
--full also times pastiche's default run (1000 L-BFGS steps at 256 px; minutes).
Run nothing else meanwhile: on 2 cores anything else distorts the numbers. If something must run,
start with OMP_WAIT_POLICY=PASSIVE (or --threads 1): spinning OpenMP threads that share busy
cores made a 256 px run take 211 s instead of 17 s here.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from engine.data.images import load_image
from engine.models.vgg import load_vgg19, read_state, weights_from_state
from engine.runtime.device import cpu_model
from engine.style.gatys import StyleConfig, stylize_steps
from engine.style.instant import instant_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def safe_pastiche() -> type:
    """pastiche's VGG19 class, its weights read without unpickling (weights_only)."""
    from pastiche.vgg19 import VGG19

    def from_quantized_bin(path: str, pooling: str = "max") -> VGG19:
        weights, _ = weights_from_state(read_state(Path(path)))
        fields = {f: weights[f"conv{f[5]}_{f[-1]}"] for f in VGG19.Weights._fields}
        return VGG19(VGG19.Weights(**fields), pooling=pooling)

    VGG19.from_quantized_bin = staticmethod(from_quantized_bin)
    from pastiche.pastiche import PasticheArtist

    return PasticheArtist


def seconds_per_step(
    content: Path, style: Path, size: int, steps: int, precision: str = "auto"
) -> tuple[float, float]:
    """(studio, pastiche) median seconds per step, their steps interleaved so that a change in
    background load hits both alike."""
    artist = safe_pastiche()(str(content), [str(style)], device="cpu", size=size, pooling="max")
    config = StyleConfig(size=size, steps=steps + 1, levels=1, flat=0, preview_every=0, precision=precision)
    studio = stylize_steps(load_image(content), load_image(style), config)
    next(studio)  # warm-up both
    artist.draw()
    ours, ref = [], []
    for _ in range(steps):
        start = time.perf_counter()
        next(studio)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        artist.draw()
        ref.append(time.perf_counter() - start)
    studio.close()
    return statistics.median(ours), statistics.median(ref)


def pastiche_run_seconds(content: Path, style: Path, size: int, steps: int) -> float:
    start = time.perf_counter()
    artist = safe_pastiche()(str(content), [str(style)], device="cpu", size=size, pooling="max")
    for _ in range(steps):
        artist.draw()
    return time.perf_counter() - start


def studio_run_seconds(content: Path, style: Path) -> tuple[float, int]:
    """(seconds, steps done) of a run with the defaults, whose coarse level stops once flat."""
    load_vgg19.cache_clear()  # include loading the network, as a fresh process would
    start = time.perf_counter()
    *_, last = stylize_steps(load_image(content), load_image(style), StyleConfig(preview_every=0))
    return time.perf_counter() - start, last.step


def instant_latency(content: Path, style: Path, runs: int) -> tuple[float, float]:
    """(first call with a new style, p50 of repeated calls) at 512 px, sessions already open."""
    model = instant_model()
    photo, painting = load_image(content), load_image(style)
    photo.thumbnail((512, 512))
    start = time.perf_counter()
    model.stylize(photo, painting)
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.stylize(photo, painting)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, default=DATA / "content" / "golden_gate.jpg")
    parser.add_argument("--style", type=Path, default=DATA / "styles" / "starry_night.jpg")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per figure")
    parser.add_argument("--runs", type=int, default=20, help="instant-mode runs")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--full", action="store_true", help="also time pastiche's default 1000-step run")
    args = parser.parse_args()
    if args.threads:  # on a busy machine one thread avoids OpenMP barrier stalls
        torch.set_num_threads(args.threads)
    c, s = args.content, args.style
    print(f"{cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} threads; {c.name} + {s.name}")
    rows = []
    for size in (256, 512):
        rows.append((f"Gatys s/step @{size}", *seconds_per_step(c, s, size, args.steps)))
    rows.append(("  (studio in fp32) s/step @256", *seconds_per_step(c, s, 256, args.steps, "fp32")))
    ours, total_steps = studio_run_seconds(c, s)
    ref = pastiche_run_seconds(c, s, StyleConfig().size, total_steps)
    ours = min(ours, studio_run_seconds(c, s)[0])  # before and after pastiche's run
    rows.append((f"finished @256 s ({total_steps} pastiche steps)", ours, ref))
    if args.full:
        rows.append(("  vs pastiche default 1000 steps", ours, pastiche_run_seconds(c, s, 256, 1000)))
    first, p50 = instant_latency(c, s, args.runs)
    print(f"{'figure':<40} {'studio':>9} {'pastiche':>9} {'ratio':>6}")
    for name, ours, ref in rows:
        print(f"{name:<40} {ours:>9.3f} {ref:>9.3f} {ours / ref:>6.2f}")
    print(f"{'instant @512 p50 s (cached style)':<40} {p50:>9.4f}")
    print(f"{'instant @512 s (new style, first call)':<40} {first:>9.4f}")


if __name__ == "__main__":
    main()
