"""Score an image-to-image translator on held-out pairs: per-image L1/PSNR/SSIM averaged, plus
FID and KID between its outputs and the targets. One pass over the data, features kept in memory
(2048 float64 per image), so it suits validation sets of up to some ten thousand pairs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from engine.data.images import uint8_to_unit
from engine.errors import UserError
from engine.metrics import InceptionFeatures, fid_from_features, kid_from_features, l1_per_image, psnr, ssim


@dataclass(frozen=True)
class Looks:
    """Several looks of each input for a multimodal model: every look is scored (L1, FID, KID...)
    and `distance` (a perceptual distance per image pair) gives the diversity between them. With
    `encode` (photos -> codes, or one Look per photo) each input instead takes the look of its own
    target photo, as a reference photo gives it in the studio."""

    codes: list  # what `translate` takes as z=: codes, or the pipeline's Look objects
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    encode: Callable[[torch.Tensor], torch.Tensor] | None = None


def outputs_of(translate: Callable, batch: dict, looks: Looks | None) -> list[torch.Tensor]:
    """One output batch per look (one in all without `looks`)."""
    hint = batch.get("hint")
    if looks is None:
        return [translate(batch["A"], hint) if hint is not None else translate(batch["A"])]
    if looks.encode is not None:
        return [translate(batch["A"], hint, z=looks.encode(batch["B"]))]
    return [translate(batch["A"], hint, z=code) for code in looks.codes]


def pairwise_distance(outputs: list[torch.Tensor], distance: Callable) -> torch.Tensor:
    """(N,) mean distance between the looks of each input, over all pairs of looks."""
    pairs = [(i, j) for i in range(len(outputs)) for j in range(i + 1, len(outputs))]
    return torch.stack([distance(outputs[i], outputs[j]).float().cpu() for i, j in pairs]).mean(0)


@torch.no_grad()
def evaluate_pairs(
    translate: Callable[..., torch.Tensor],
    dataset: Dataset,
    batch_size: int = 5,
    with_fid: bool = True,
    progress: bool = True,
    inception: Callable[[torch.Tensor], np.ndarray] | None = None,
    looks: Looks | None = None,
) -> dict[str, float]:
    """Run `translate` (NCHW [-1, 1] inputs, plus the colour hints when items carry "hint", and
    `z=` a code per look with `looks`, -> outputs of the targets' shape, on any device) over a
    dataset of {"A": input, "B": target} items and return the mean "L1", "PSNR", "SSIM", and,
    with `with_fid`, "FID", "KID" and "KID_std" (NaN with fewer than two images), "count" (the
    outputs scored) and, with two or more looks and a distance, "diversity". `inception`
    defaults to the standard FID network (loaded once per process)."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    extract = (inception or InceptionFeatures()) if with_fid else None
    sums = {"L1": 0.0, "PSNR": 0.0, "SSIM": 0.0, "diversity": 0.0}
    fake_feats: list[np.ndarray] = []
    real_feats: list[np.ndarray] = []
    count = inputs = 0
    with_diversity = looks is not None and looks.distance is not None and len(looks.codes) > 1
    for batch in tqdm(loader, desc="evaluate", unit="batch", disable=not progress, dynamic_ncols=True):
        fakes = outputs_of(translate, batch, looks)
        real = batch["B"].to(fakes[0].device)
        for fake in fakes:
            if fake.shape != real.shape:
                raise ValueError(f"translate returned {tuple(fake.shape)} for targets of {tuple(real.shape)}")
            sums["L1"] += l1_per_image(fake, real).sum().item()
            sums["PSNR"] += psnr(fake, real).sum().item()
            sums["SSIM"] += ssim(fake, real).sum().item()
            count += len(fake)
            if extract is not None:
                fake_feats.append(extract(fake))
        if with_diversity:
            sums["diversity"] += pairwise_distance(fakes, looks.distance).sum().item()
        inputs += len(real)
        if extract is not None:
            real_feats.append(extract(real))
    if count == 0:
        raise UserError("the dataset is empty")
    result = {name: sums[name] / count for name in ("L1", "PSNR", "SSIM")}
    if with_diversity:
        result["diversity"] = sums["diversity"] / inputs
    if extract is not None:
        result.update(_distribution_metrics(np.concatenate(fake_feats), np.concatenate(real_feats)))
    result["count"] = float(count)
    return result


def _distribution_metrics(fake: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """FID and KID of outputs against targets; NaN when there are too few images to fit them."""
    if len(fake) < 2:
        warnings.warn("FID/KID need at least two images; reporting NaN", stacklevel=3)
        return {"FID": math.nan, "KID": math.nan, "KID_std": math.nan}
    kid, kid_std = kid_from_features(fake, real)
    return {"FID": fid_from_features(fake, real), "KID": kid, "KID_std": kid_std}


def evaluate_model(
    predictor,
    data: str,
    split: str = "val",
    direction: str | None = None,
    drawing_style: bool = False,
    hints: int = 0,
    batch_size: int = 5,
    with_fid: bool = True,
    skip_bad: bool = False,
    translate: Callable | None = None,
    outlines: Callable[[Image.Image], Image.Image] | None = None,
    looks: Looks | None = None,
) -> dict[str, dict[str, float]]:
    """Score a loaded model on a dataset split: clean inputs, and with `drawing_style` also
    the inputs redrawn as people draw; `hints` gives N colour dabs from each target. Returns
    {split label (e.g. "val drawing-style +12 hints"): metrics}. A dataset in the unaligned
    layout (testA/, testB/) has no pairs: its inputs' translations are scored by FID/KID
    against the other domain's images. `translate` (default: the model's translate_tensor) is
    what turns a batch into outputs: the `eval` command passes the sketch pipeline's, so the
    scores are those of what the studio serves (colour pull included). `outlines`, a drawing's
    preparation (the `eval` command passes the pipeline's), adds the split's outline set as
    people draw it ("val outlines", without hints: an outline carries no dabs of the photo),
    and the same outlines left a few pixels open as quick strokes are ("val open outlines").
    `looks` scores every look of a multimodal model and their diversity (edge -> photo sets)."""
    translate = translate or predictor.translate_tensor
    from engine.data.datasets import open_paired_dataset
    from engine.data.drawing import PairAugment
    from engine.data.unpaired import UnpairedImages, domain_folders, is_unaligned

    direction = (
        direction
        or predictor.meta.get("direction")
        or predictor.meta.get("config", {}).get("direction", "AtoB")
    )
    if outlines is not None and (is_unaligned(data) or hasattr(predictor, "palette")):
        raise UserError("outlines are scored on paired edge -> photo data only")
    if is_unaligned(data):
        domain_a, domain_b = domain_folders(data, split)
        inputs, targets = (domain_a, domain_b) if direction == "AtoB" else (domain_b, domain_a)
        dataset = UnpairedImages(inputs, targets, predictor.size, predictor.size, False, skip_bad)
        scored = evaluate_domains(translate, dataset, batch_size)
        return {f"{split} {direction} unpaired": scored}

    if hasattr(predictor, "palette"):  # a label-map model: the maps decode with its own palette
        from engine.data.label_maps import open_label_dataset

        half = predictor.meta["config"].get("label_half", "B")
        size = predictor.size
        dataset = open_label_dataset(data, split, size, size, False, half, predictor.palette, skip_bad)
        return {split: evaluate_pairs(translate, dataset, batch_size, with_fid=with_fid)}

    scored = {}
    for label, drawing in [("", "off")] + ([(" drawing-style", "replace")] if drawing_style else []):
        augment = PairAugment(drawing, bool(hints), hints) if drawing != "off" or hints else None
        dataset = open_paired_dataset(
            data, split, direction, predictor.size, predictor.size, False, skip_bad, augment
        )
        hinted = f" +{hints} hints" if hints else ""
        scored[split + label + hinted] = evaluate_pairs(
            translate, dataset, batch_size, with_fid=with_fid, looks=looks
        )
    if outlines is not None:
        from engine.data.outline_set import OutlinePairs

        pairs = open_paired_dataset(data, split, direction, predictor.size, predictor.size, False, skip_bad)
        closed = OutlinePairs(pairs, outlines)
        for label, dataset in (("outlines", closed), ("open outlines", closed.left_open())):
            scored[f"{split} {label}"] = evaluate_pairs(
                translate, dataset, batch_size, with_fid=with_fid, looks=looks
            )
    return scored


@torch.no_grad()
def evaluate_domains(
    translate: Callable[[torch.Tensor], torch.Tensor], dataset, batch_size: int = 5, progress: bool = True
) -> dict[str, float]:
    """FID and KID of the translated inputs (`dataset.a`) against every target image
    (`dataset.b`); unpaired, so no per-image scores."""
    extract = InceptionFeatures()
    fake = []
    for start in tqdm(range(0, len(dataset.a), batch_size), desc="translate", disable=not progress):
        batch = torch.stack([uint8_to_unit(t) for t in dataset.a[start : start + batch_size]])
        fake.append(extract(translate(batch)))
    real = [
        extract(torch.stack([uint8_to_unit(t) for t in dataset.b[start : start + batch_size]]))
        for start in range(0, len(dataset.b), batch_size)
    ]
    result = _distribution_metrics(np.concatenate(fake), np.concatenate(real))
    return {**result, "count": float(len(dataset.a))}
