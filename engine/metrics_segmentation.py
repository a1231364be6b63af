"""Segmentation scores from a confusion matrix, as the FCN paper (Long et al. 2015) defines them
and pix2pix's FCN-score reports them (its `scripts/eval_cityscapes`): per-pixel accuracy, mean
per-class accuracy and mean class IoU, computed once from the matrix summed over a whole split.

`hist[t, p]` counts pixels of true class t predicted as p. Per-class accuracy TP / (TP + FN) is
averaged over the classes present in the ground truth; IoU TP / (TP + FP + FN) over the classes
present in the ground truth or the prediction (NaN for the others, dropped by nanmean). The
official script adds 1e-12 to each denominator, which turns an absent class into a 0 instead of
dropping it; over a whole test split where every class occurs (facades, Cityscapes) the two
agree, and on small sets this module's figures stay meaningful.
"""

from __future__ import annotations

import numpy as np
import torch

PIXEL_ACC, CLASS_ACC, CLASS_IOU = "fcn_pixel_acc", "fcn_class_acc", "fcn_class_iou"


def as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def confusion_matrix(
    truth: np.ndarray | torch.Tensor, predicted: np.ndarray | torch.Tensor, classes: int
) -> np.ndarray:
    """classes x classes int64 counts of (true, predicted) pixel pairs; arrays of any equal
    shape. True labels outside 0..classes-1 (an "ignore" value such as 255) are not counted,
    as the official fast_hist does; a prediction outside that range is an error."""
    t, p = as_numpy(truth).reshape(-1).astype(np.int64), as_numpy(predicted).reshape(-1).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true labels but {p.size} predictions")
    keep = (t >= 0) & (t < classes)
    t, p = t[keep], p[keep]
    if p.size and (p.min() < 0 or p.max() >= classes):
        raise ValueError(f"predicted classes must be 0..{classes - 1}")
    return np.bincount(classes * t + p, minlength=classes**2).reshape(classes, classes)


def per_class_scores(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, IoU) of each class; NaN for a class absent from the ground truth (accuracy)
    or from both ground truth and prediction (IoU)."""
    hist = np.asarray(hist, np.float64)
    tp, truth, predicted = np.diag(hist), hist.sum(1), hist.sum(0)
    union = truth + predicted - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(truth > 0, tp / truth, np.nan)
        iou = np.where(union > 0, tp / union, np.nan)
    return accuracy, iou


def segmentation_scores(hist: np.ndarray) -> dict[str, float]:
    """{fcn_pixel_acc, fcn_class_acc, fcn_class_iou} of a confusion matrix (see the module)."""
    hist = np.asarray(hist, np.float64)
    if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {hist.shape}")
    if hist.sum() <= 0:
        raise ValueError("the confusion matrix counts no pixels")
    accuracy, iou = per_class_scores(hist)
    return {
        PIXEL_ACC: float(np.diag(hist).sum() / hist.sum()),
        CLASS_ACC: float(np.nanmean(accuracy)),
        CLASS_IOU: float(np.nanmean(iou)),
    }
