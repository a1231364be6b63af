"""ONNX export of every model that serves images, so it runs without PyTorch (onnxruntime, a
browser). Users of the official pix2pix/CycleGAN code find their exports differ from PyTorch
because dropout and batch norm stayed in training mode; here the networks come from the one
loader, already as the studio serves them (eval mode, dropout off, batch norm per image for
models trained at batch size 1), and that graph is what is traced. The batch axis is dynamic;
the opset and what is baked in are written into the file's metadata."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from engine.errors import UserError
from engine.inference.label_maps import LabelMapModel
from engine.inference.latent import LatentModel
from engine.inference.loader import load_model
from engine.inference.predictor import Predictor
from engine.models.small_maps import PlainWeight

DEFAULT_OPSET = 17


class TranslatorGraph(nn.Module):
    """image (+ hints, + look code) -> image, as Predictor.translate_tensor computes it."""

    def __init__(self, predictor: Predictor) -> None:
        super().__init__()
        self.net, self.hints, self.nz = predictor.net, predictor.takes_hints, predictor.nz

    def forward(self, image: torch.Tensor, hints: Tensor = None, z: Tensor = None) -> torch.Tensor:
        x = torch.cat([image, hints], 1) if self.hints else image
        return self.net(x, z) if self.nz else self.net(x)


class LabelGraph(nn.Module):
    """one-hot label map (+ style code) -> image."""

    def __init__(self, model: LabelMapModel) -> None:
        super().__init__()
        self.net, self.z_dim = model.nets["G"], model.z_dim

    def forward(self, labels: torch.Tensor, z: Tensor = None) -> torch.Tensor:
        return self.net(labels, z) if self.z_dim else self.net(labels)


class DecoderGraph(nn.Module):
    """latent code (+ class label) -> image, as LatentModel.decode computes it."""

    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.net, self.encodes, self.classes = model.net, model.can_encode, model.num_classes

    def forward(self, z: torch.Tensor, label: Tensor = None) -> torch.Tensor:
        if self.encodes:
            return self.net.decode(z)
        return self.net(z, label) if self.classes else self.net(z)


def graph_of(served, batch: int = 2) -> tuple[nn.Module, dict[str, torch.Tensor], dict[str, str]]:
    """The module to trace, example inputs by name, and what the file says about itself."""
    gen = torch.Generator().manual_seed(0)
    if isinstance(served, Predictor):
        side = served.size
        inputs = {"image": torch.rand(batch, 3, side, side, generator=gen) * 2 - 1}
        if served.takes_hints:
            inputs["hints"] = torch.zeros(batch, 4, side, side)
        if served.nz:
            inputs["z"] = torch.zeros(batch, served.nz)
        about = {"input": "image: N x 3 x H x W RGB in [-1, 1]" + hint_words(served)}
        return TranslatorGraph(served), inputs, about | {"size": str(side)}
    if isinstance(served, LabelMapModel):
        side, classes = served.size, len(served.palette)
        index = torch.randint(0, classes, (batch, side, side), generator=gen)
        inputs = {"labels": nn.functional.one_hot(index, classes).permute(0, 3, 1, 2).float()}
        if served.z_dim:
            inputs["z"] = torch.randn(batch, served.z_dim, generator=gen)
        about = {
            "input": f"labels: N x {classes} x H x W one-hot"
            + (", z: N x z_dim style code" if served.z_dim else "")
        }
        return LabelGraph(served), inputs, about | {"size": str(side), "classes": str(classes)}
    if isinstance(served, LatentModel):
        inputs = {"z": torch.randn(batch, served.latent_dim, generator=gen)}
        if served.num_classes and not served.can_encode:
            inputs["label"] = torch.zeros(batch, dtype=torch.long)
        about = {
            "input": "z: N x latent_dim codes" + (", label: N int64 classes" if "label" in inputs else "")
        }
        return DecoderGraph(served), inputs, about | {"size": str(served.image_size)}
    raise UserError(f"{type(served).__name__} models do not serve images; nothing to export as ONNX")


def hint_words(served: Predictor) -> str:
    words = ", hints: N x 4 x H x W colour hints (RGB in [-1, 1] + mask)" if served.takes_hints else ""
    return words + (", z: N x nz look code (zeros: the typical look)" if served.nz else "")


def export_onnx(
    model: str, out: Path, home: str | None = None, direction: str | None = None, opset: int = DEFAULT_OPSET
) -> Path:
    """Write `model` as ONNX to `out` (opset `opset`, dynamic batch); `direction` picks a
    CycleGAN's generator (AtoB, BtoA). Written beside and renamed: no half file on failure."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"{out}: an ONNX export's file name ends in .onnx")
    if not 13 <= opset <= 21:
        raise UserError(f"opset {opset} is outside 13..21")
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
        raise UserError("ONNX export needs onnx and onnxscript: pip install 'image-synthesis-studio[export]'")
    served = load_model(model, home=home, device="cpu", precision="fp32", direction=direction or "AtoB")
    if direction is not None and "direction" not in served.meta:
        raise UserError(f"{model} translates one way only; leave out the direction")
    graph, _, about = graph_of(served)
    graph = plain_layers(copy.deepcopy(graph).eval())
    if any(m.training for m in graph.modules()):
        raise UserError(f"{model}: a network stayed in training mode; not exporting it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    difference = trace(graph, served, tmp, opset)
    meta = served.meta
    about |= {
        "opset": str(opset),
        "task": str(meta.get("task", "pix2pix")),
        "direction": str(meta.get("direction", "")),
        "output": "image: N x 3 x H x W RGB in [-1, 1]",
        "baked_in": "eval mode, dropout off, batch norm as served (per-image statistics for batch-1 training)",
        "checked": f"max abs difference vs PyTorch {difference:.1e} at batch 1 and 3 (fp32)",
        "source": Path(str(served.source)).name,
    }
    write_metadata(tmp, about)
    tmp.replace(out)
    return out


def plain_layers(graph: nn.Module) -> nn.Module:
    """The small-map convolutions (engine.models.small_maps) compute with im2col on the CPU; the
    file should hold plain Conv/ConvTranspose nodes that any runtime optimises: same weights."""
    for module in graph.modules():
        if isinstance(module, PlainWeight):
            module.__class__ = next(c for c in type(module).__mro__ if c.__module__.startswith("torch.nn"))
    return graph


def trace(graph: nn.Module, served, path: Path, opset: int) -> float:
    """One file at the opset asked for, batch dynamic on every input, checked against PyTorch
    at batch 1 and 3 (returns the largest difference). The TorchScript exporter first (it writes
    exactly that opset); torch.export's where it fails or bakes a batch size in (a VAE's
    `view(len(z), ...)`, SPADE's style-code reshape)."""
    for exporter in (torchscript_export, dynamo_export):
        try:
            exporter(graph, graph_of(served, 2)[1], path, opset)
            return check_export(graph, served, path)
        except Exception as error:  # noqa: BLE001  (exporter or runtime: try the next exporter)
            problem = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise UserError(f"could not export a faithful ONNX graph at opset {opset}: {problem[:300]}")


def torchscript_export(graph: nn.Module, inputs: dict, path: Path, opset: int) -> None:
    names = list(inputs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and instance-norm notes
        torch.onnx.export(
            graph, (inputs[names[0]], {k: inputs[k] for k in names[1:]}), str(path),
            input_names=names, output_names=["output"], opset_version=opset, dynamo=False,
            dynamic_axes={name: {0: "batch"} for name in [*names, "output"]},
        )  # fmt: skip


def dynamo_export(graph: nn.Module, inputs: dict, path: Path, opset: int) -> None:
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (), str(path), kwargs=inputs, input_names=list(inputs), output_names=["output"],
            dynamic_shapes={name: {0: batch} for name in inputs}, opset_version=opset,
            external_data=False, dynamo=True, verbose=False,
        )  # fmt: skip


def check_export(graph: nn.Module, served, path: Path, tolerance: float = 1e-3) -> float:
    """onnxruntime on the file vs PyTorch at batch 1 and 3; ValueError where they differ."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in (1, 3):
        inputs = graph_of(served, batch)[1]
        with torch.no_grad():
            want = graph(**inputs).numpy()
        got = session.run(["output"], {k: v.numpy() for k, v in inputs.items()})[0]
        if got.shape != want.shape:
            raise ValueError(f"the file answers {got.shape} for {want.shape}")
        worst = max(worst, float(abs(got - want).max()))
    if not worst < tolerance:
        raise ValueError(f"the file differs from PyTorch by {worst:.2g}")
    return worst


def write_metadata(path: Path, about: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    for key, value in about.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "image-synthesis-studio"
    onnx.save(proto, str(path))


def describe(path: Path) -> str:
    """One line about an export: its opset, inputs and what is baked in (for the CLI to print)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    return f"{path}: ONNX opset {props.get('opset')}, batch dynamic; {props.get('input')}; {props.get('baked_in')}"
