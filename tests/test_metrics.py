"""Metrics against closed forms and reference implementations (scikit-image SSIM, the
fid-helper-pytorch preprocessing), plus the evaluate_pairs wiring on tiny in-memory data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from engine.inference.evaluate import evaluate_pairs
from engine.metrics import InceptionFeatures, fid_from_features, kid_from_features, l1_per_image, psnr, ssim
from engine.pretrained import MissingWeightsError


def smooth_images(n: int, h: int, w: int, seed: int) -> torch.Tensor:
    """Random blobs blurred a little and spread over [-1, 1]: image-like, not white noise."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(n, 3, h + 4, w + 4, generator=g), 5, stride=1)
    return (x - x.amin()) / (x.amax() - x.amin()) * 2 - 1


def inception_or_skip() -> InceptionFeatures:
    try:
        return InceptionFeatures()
    except MissingWeightsError as err:
        pytest.skip(f"FID Inception weights not installed: {err}")


class PairList(Dataset):
    """Items as the engine's paired datasets give them: {"A", "B"} CHW tensors by int index."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, index: int) -> dict:
        return {"A": self.a[index], "B": self.b[index], "index": index}


def test_l1_and_psnr_closed_forms() -> None:
    real = smooth_images(3, 16, 16, 0) * 0.5  # stays inside [-1, 1] after the offset
    assert torch.all(torch.isinf(psnr(real, real)) | (psnr(real, real) > 100))
    fake = real + 0.2  # 0.1 on the [0, 1] scale: MSE 0.01 -> 20 dB
    assert torch.allclose(l1_per_image(fake, real), torch.full((3,), 0.2), atol=1e-6)
    expected = 10 * math.log10(1.0**2 / 0.1**2)
    assert torch.allclose(psnr(fake, real), torch.full((3,), expected), atol=1e-3)


def test_ssim_identity_and_skimage() -> None:
    from skimage.metrics import structural_similarity

    real = smooth_images(2, 40, 48, 1)
    fake = (real + 0.3 * smooth_images(2, 40, 48, 2)).clamp(-1, 1)
    assert torch.allclose(ssim(real, real), torch.ones(2), atol=1e-5)
    ours = ssim(fake, real)
    for i in range(2):
        ref = structural_similarity(
            ((fake[i] + 1) / 2).permute(1, 2, 0).double().numpy(),
            ((real[i] + 1) / 2).permute(1, 2, 0).double().numpy(),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1,
            channel_axis=2,
        )
        assert abs(ours[i].item() - ref) < 1e-3
    assert ours.shape == (2,) and torch.all(ours < 0.999)


def test_fid_self_and_gaussian_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-8)
    # Samples whitened to exactly zero mean / identity sample covariance, then shaped, so their
    # fitted Gaussians are exactly N(mu_i, diag(var_i)): FID = |dmu|^2 + sum (sd1 - sd2)^2.
    z = rng.normal(size=(400, 4))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    mu1, mu2 = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25, 2.0]), np.array([2.0, 1.0, 0.25, 0.5])
    x, y = mu1 + z * np.sqrt(var1), mu2 + z[::-1] * np.sqrt(var2)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert fid_from_features(x, y) == pytest.approx(expected, rel=1e-9)
    # Fewer samples than dimensions (singular covariances) agrees with scipy's sqrtm.
    import scipy.linalg

    p, q = rng.normal(size=(20, 30)), rng.normal(size=(25, 30)) * 2 + 1
    s1, s2 = np.cov(p, rowvar=False), np.cov(q, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    ref = np.sum((p.mean(0) - q.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert fid_from_features(p, torch.from_numpy(q)) == pytest.approx(ref, rel=1e-6)


def test_kid_identical_and_shifted() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(120, 16))
    same, _ = kid_from_features(a, a, num_subsets=50, subset_size=50)
    shifted, std = kid_from_features(a, a + 1.0, num_subsets=50, subset_size=50)
    assert shifted > 0 and std >= 0
    assert abs(same) < 0.05 * shifted  # subsets of one finite set overlap, so not exactly 0
    # the subset size is clipped to the smaller set; the seed picks the subsets
    assert kid_from_features(a[:10], a[:30] + 1, subset_size=1000) == kid_from_features(
        a[:10], a[:30] + 1, subset_size=10
    )
    assert kid_from_features(a, a + 1.0, 5, 20, seed=1) != kid_from_features(a, a + 1.0, 5, 20, seed=2)


def test_missing_inception_file_is_clear(tmp_path) -> None:
    with pytest.raises(MissingWeightsError):
        InceptionFeatures(tmp_path / "nothing.pt")


def test_inception_features_shape_and_determinism() -> None:
    inception = inception_or_skip()
    images = smooth_images(4, 32, 32, 3)
    first, second = inception(images), inception(images)
    assert first.shape == (4, 2048) and first.dtype == np.float64
    assert np.array_equal(first, second) and np.isfinite(first).all()


def test_evaluate_pairs_identity_without_fid() -> None:
    images = smooth_images(7, 24, 24, 4)
    result = evaluate_pairs(
        lambda x: x.clone(), PairList(images, images), batch_size=3, with_fid=False, progress=False
    )
    assert result["count"] == 7 and result["L1"] == 0
    assert result["SSIM"] == pytest.approx(1.0, abs=1e-5) and result["PSNR"] > 100
    assert "FID" not in result


def test_evaluate_pairs_distribution_metrics_wiring() -> None:
    images = smooth_images(6, 16, 16, 5)

    def pixels(x: torch.Tensor) -> np.ndarray:  # a cheap stand-in for the Inception features
        return x.flatten(1)[:, :12].double().numpy()

    same = evaluate_pairs(lambda x: x, PairList(images, images), inception=pixels, progress=False)
    off = evaluate_pairs(
        lambda x: (x + 0.5).clamp(-1, 1), PairList(images, images), inception=pixels, progress=False
    )
    assert same["FID"] == pytest.approx(0.0, abs=1e-9) and off["FID"] > 0.1
    assert off["KID"] > abs(same["KID"]) and set(off) == {
        "L1",
        "PSNR",
        "SSIM",
        "FID",
        "KID",
        "KID_std",
        "count",
    }


def test_evaluate_pairs_with_inception_fid() -> None:
    inception = inception_or_skip()
    images = smooth_images(4, 64, 64, 6)
    result = evaluate_pairs(
        lambda x: x, PairList(images, images), batch_size=2, progress=False, inception=inception
    )
    assert result["count"] == 4 and result["FID"] == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(result["KID"]) and math.isfinite(result["KID_std"])


def test_dark_below_lines_counts_the_smudge_rows_under_the_lowest_line() -> None:
    from engine.metrics import dark_below_lines

    drawing = torch.ones(2, 3, 40, 40)
    drawing[:, :, 20, 10:30] = -1  # a sole line at row 20, columns 10-29
    output = torch.ones(2, 3, 40, 40)
    output[1, :, 24:34, 10:30] = -0.5  # ten dark rows under it
    output[1, :, 24:34, 0:10] = -0.5  # beside the drawing: not counted
    assert dark_below_lines(drawing, output).tolist() == [0.0, 10.0]


def test_look_distance_is_zero_for_the_same_picture_and_grows_with_difference(tiny_vgg) -> None:
    from engine.metrics import LookDistance
    from engine.models.vgg import load_vgg19

    distance = LookDistance(load_vgg19(tiny_vgg, last_layer="relu2_1"), size=32)
    distance.LAYERS = ("relu1_1", "relu2_1")  # what the tiny VGG has
    torch.manual_seed(0)
    a = torch.rand(2, 3, 40, 40) * 2 - 1
    near = (a + 0.05 * torch.randn_like(a)).clamp(-1, 1)
    far = torch.rand(2, 3, 40, 40) * 2 - 1
    same, small, large = distance(a, a), distance(a, near), distance(a, far)
    assert same.shape == (2,) and torch.allclose(same, torch.zeros(2), atol=1e-6)
    assert (small > 0).all() and (large > small).all()
