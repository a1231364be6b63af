"""The FCN-score of pix2pix's Table 1: how well a segmentation network recovers the labels a
photo was generated from (per-pixel accuracy, mean per-class accuracy, mean class IoU).

Three ways to score, chosen from the model and its direction:
- labels -> photo (pix2pix BtoA on facades, pix2pixHD, SPADE): each test label map is
  translated into a photo, the FCN (a `segment` run or `default-fcn-facades`) segments it, and
  its classes are compared with the true ones;
- photo -> labels (pix2pix AtoB on facades): the generated colours decode to classes by the
  nearest palette colour (as the dataset's own colour maps do) and are compared directly;
- ground truth (`model=None`): the FCN on the real test photos, the table's upper row.
The confusion matrix is summed over the split, then scored (engine.metrics_segmentation).
Scores are at the generator's size (the labels resized by nearest neighbour to it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from engine.data.label_maps import Palette, dataset_palette, open_label_dataset
from engine.errors import UserError
from engine.metrics_segmentation import confusion_matrix, segmentation_scores

DEFAULT_FCN = "default-fcn-facades"
GROUND_TRUTH = "ground truth"  # the model name the real photos' scores are stored under
LABELS_TO_PHOTO, PHOTO_TO_LABELS, REAL_PHOTOS = "labels -> photo", "photo -> labels", "real photos"


def load_fcn(fcn: str, home: str | None = None, device: str = "auto"):
    """The segmentation model (a SegmentationModel) that scores generated photos."""
    from engine.inference.loader import load_model
    from engine.store.models import BUNDLED, FCN_FACADES

    if fcn == FCN_FACADES.name and fcn not in BUNDLED:
        raise UserError(
            f"{fcn} is not bundled yet ({FCN_FACADES.path} is missing): train one "
            "(python -m engine train segment --data DIR) and give its run with --fcn RUN"
        )
    return load_model(fcn, "segmentation", home, device)


class LabelledInputs(Dataset):
    """Each pair's model input as the generator trained on it (the raw colour-map half, JPEG
    blur and all) beside the class map decoded from the same file."""

    def __init__(self, pairs: Dataset, labels: Dataset) -> None:
        names = [pairs.name(i) for i in range(len(pairs))]
        if names != [labels.name(i) for i in range(len(labels))]:
            raise UserError("the split's pairs and label maps do not match file for file")
        self.pairs, self.labels = pairs, labels

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        return {"input": self.pairs[index]["A"], "label": self.labels[index]["label"]}


def decode_colours(images: torch.Tensor, palette: Palette) -> torch.Tensor:
    """N x 3 x H x W generated label renderings in [-1, 1] -> N x H x W nearest-colour classes."""
    rgb = ((images.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return torch.from_numpy(np.stack([palette.decode(image) for image in rgb]))


def score_batches(
    predict: Callable[[dict], torch.Tensor],
    dataset: Dataset,
    classes: int,
    batch_size: int = 5,
    progress: bool = True,
) -> dict[str, float]:
    """Run `predict` (a batch -> N x H x W classes) over the dataset and score it against each
    item's "label"; adds "count" (images scored)."""
    hist = np.zeros((classes, classes), np.int64)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    for batch in tqdm(loader, desc="FCN-score", unit="batch", disable=not progress, dynamic_ncols=True):
        predicted = predict(batch)
        if predicted.shape != batch["label"].shape:
            raise ValueError(
                f"predicted {tuple(predicted.shape)} for labels of {tuple(batch['label'].shape)}"
            )
        hist += confusion_matrix(batch["label"], predicted, classes)
    if not hist.sum():
        raise UserError("the dataset is empty")
    return {**segmentation_scores(hist), "count": float(len(dataset))}


def scoring_way(translator, direction: str, label_half: str) -> str:
    """Which row the model gives: labels -> photo or photo -> labels."""
    if hasattr(translator, "palette"):  # a label-map model (pix2pixHD, SPADE)
        return LABELS_TO_PHOTO
    return LABELS_TO_PHOTO if ("B" if direction == "BtoA" else "A") == label_half else PHOTO_TO_LABELS


def evaluate_fcn_score(
    model: str | None,
    data: str,
    split: str = "test",
    fcn: str = DEFAULT_FCN,
    direction: str | None = None,
    home: str | None = None,
    device: str = "auto",
    batch_size: int = 5,
    skip_bad: bool = False,
    progress: bool = True,
    label_half: str = "B",
) -> dict[str, float]:
    """{fcn_pixel_acc, fcn_class_acc, fcn_class_iou, count} of `model` (a run, file or bundled
    name; None: the real photos, scored by the FCN alone) on a label-map dataset's split.
    `direction` defaults to the model's own; `label_half` (the A|B half holding the colour map)
    to the FCN's, else B (facades). The FCN is loaded only where a photo is to be segmented."""
    if model is None:
        segmenter = load_fcn(fcn, home, device)
        half, size = segmenter.meta["config"].get("label_half", label_half), segmenter.size
        labels = open_label_dataset(data, split, size, size, False, half, segmenter.palette, skip_bad)

        def predict(batch: dict) -> torch.Tensor:
            return segmenter.predict(batch["B"])

        return score_batches(predict, labels, len(segmenter.palette), batch_size, progress)
    translator = load_translator(model, home, device, direction)
    direction = translation_direction(translator, direction)
    if scoring_way(translator, direction, label_half) == PHOTO_TO_LABELS:
        palette = dataset_palette(data, label_half)
        dataset = labelled_inputs(data, split, direction, translator.size, label_half, palette, skip_bad)

        def decode(batch: dict) -> torch.Tensor:
            return decode_colours(translator.translate_tensor(batch["input"]), palette)

        return score_batches(decode, dataset, len(palette), batch_size, progress)
    segmenter = load_fcn(fcn, home, device)
    half = segmenter.meta["config"].get("label_half", label_half)
    size, key = translator.size, "input"
    if hasattr(translator, "palette"):  # label-map models read one-hot maps ("A") in their palette
        check_same_classes(translator.palette, segmenter.palette, model, fcn)
        key, palette = "A", translator.palette
        dataset = open_label_dataset(data, split, size, size, False, half, palette, skip_bad)
    else:
        dataset = labelled_inputs(data, split, direction, size, half, segmenter.palette, skip_bad)

    def segment(batch: dict) -> torch.Tensor:
        return segmenter.predict(translator.translate_tensor(batch[key]))

    return score_batches(segment, dataset, len(segmenter.palette), batch_size, progress)


def load_translator(model: str, home: str | None, device: str, direction: str | None):
    from engine.inference.kinds import image_translating_kinds
    from engine.inference.loader import load_model

    kinds = (*image_translating_kinds(), "label-map")
    return load_model(model, kinds, home, device, direction=direction or "AtoB")


def translation_direction(translator, direction: str | None) -> str:
    """The way the model is run: the one asked for, else the model's own (AtoB by default)."""
    return (
        direction
        or translator.meta.get("direction")
        or translator.meta.get("config", {}).get("direction", "AtoB")
    )


def labelled_inputs(data, split, direction, size, label_half, palette, skip_bad) -> LabelledInputs:
    from engine.data.datasets import open_paired_dataset

    pairs = open_paired_dataset(data, split, direction, size, size, False, skip_bad)
    labels = open_label_dataset(data, split, size, size, False, label_half, palette, skip_bad)
    return LabelledInputs(pairs, labels)


def check_same_classes(model_palette: Palette, fcn_palette: Palette, model: str, fcn: str) -> None:
    if model_palette.names != fcn_palette.names:
        raise UserError(
            f"{model} paints {len(model_palette)} classes and {fcn} segments {len(fcn_palette)} "
            "others: score with an FCN trained on the same label maps"
        )


def split_label(fcn: str | None, split: str) -> str:
    """The split label FCN-scores are stored under: "<split> FCN <fcn>", so scores by different
    FCNs stay apart, or "<split> label colours" for a photo -> labels model (`fcn` None)."""
    return f"{split} FCN {fcn}" if fcn else f"{split} label colours"


def record_fcn_score(
    model: str | None,
    data: str,
    split: str,
    fcn: str | None,
    scores: dict[str, float],
    home: str | None = None,
) -> str:
    """Store the scores as evals (model: the run or model name, or GROUND_TRUTH) under
    `split_label(fcn, split)` (`fcn` None: no FCN took part). -> the split label."""
    from engine.store.runs import RunStore

    label = split_label(fcn, split)
    RunStore(home).log_eval(model or GROUND_TRUTH, str(Path(data).resolve()), label, scores)
    return label
