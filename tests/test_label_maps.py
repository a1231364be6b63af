"""Label maps as data: index PNGs with a palette, colour renderings decoded by the nearest
palette colour, one-hot inputs, and both dataset layouts."""

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data.images import ImageLoadError
from engine.data.label_maps import (
    FACADES,
    Palette,
    dataset_palette,
    one_hot,
    open_label_dataset,
    read_label_map,
)
from engine.errors import UserError
from support.tiny import scene, write_label_dataset


def test_nearest_colour_decoding_survives_jpeg_blur(tmp_path):
    labels, _ = scene(3, 64)
    rendered = FACADES.render(labels)
    rendered.save(tmp_path / "labels.jpg", quality=75)
    decoded = read_label_map(Image.open(tmp_path / "labels.jpg"), FACADES)
    assert (decoded == labels).mean() > 0.97  # only a few pixels at region borders differ
    noisy = np.asarray(rendered).astype(int) + np.random.default_rng(0).integers(-20, 21, (64, 64, 3))
    assert (FACADES.decode(noisy.clip(0, 255).astype(np.uint8)) == labels).all()


def test_index_pngs_give_their_indices_and_refuse_unknown_classes():
    labels, _ = scene(1, 32)
    indexed = Image.fromarray(labels, "P")
    indexed.putpalette([255, 0, 0] * 4)  # all red: the colours must not matter, only the indices
    assert (read_label_map(indexed, FACADES) == labels).all()
    grey = Image.fromarray(np.full((8, 8), 12, np.uint8), "L")
    with pytest.raises(ImageLoadError, match="class index 12 but the palette has 12 classes"):
        read_label_map(grey, FACADES)


def test_one_hot_and_the_palette_round_trip():
    index = torch.tensor([[0, 2], [1, 2]])
    hot = one_hot(index, 3)
    assert hot.shape == (3, 2, 2) and hot.sum(0).eq(1).all() and hot[2, 0, 1] == 1
    assert one_hot(index[None], 3).shape == (1, 3, 2, 2)
    assert Palette.from_meta(FACADES.to_meta()) == FACADES
    assert len(FACADES) == 12 and FACADES.names[2] == "window"
    with pytest.raises(UserError):
        Palette(("a", "b"), ((0, 0, 0),))


@pytest.mark.parametrize("layout", ["aligned", "folders"])
def test_both_layouts_give_one_hot_maps_and_photos(tmp_path, layout):
    root = write_label_dataset(tmp_path / layout, layout)
    palette = dataset_palette(root)
    assert palette == FACADES if layout == "aligned" else palette.names == ("sky", "wall", "window", "door")
    if layout == "folders":
        assert palette.colours[1] == (255, 0, 0)  # from the PNG's own palette
    train = open_label_dataset(root, "train", 68, 64, palette=palette)
    item = train[(0, 123)]
    classes = len(palette)
    assert item["A"].shape == (classes, 64, 64) and item["B"].shape == (3, 64, 64)
    assert torch.equal(item["A"].argmax(0), item["label"])
    again = train[(0, 123)]  # the same seed: the same crop and flip for map and photo
    assert torch.equal(again["A"], item["A"]) and torch.equal(again["B"], item["B"])
    # the map and the photo stay aligned: a class's pixels have that class's photo colour
    held_out = open_label_dataset(root, "val", 64, 64, train=False, palette=palette)
    labels, photo = scene(100, 64)
    got = held_out[0]
    assert (got["label"].numpy() == labels).mean() > 0.97
    sky = got["B"][:, got["label"] == 0].mean(1)
    assert torch.allclose(sky, torch.tensor([90 / 127.5 - 1] * 3), atol=0.05)


def test_a_folder_without_label_maps_says_what_it_needs(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(UserError, match="labels/"):
        open_label_dataset(tmp_path, "train", 64, 64)


def test_decode_looks_up_class_colours_exactly_and_searches_the_rest():
    """The exact-colour lookup is a speed-up: decode must give what the nearest-colour search
    over every pixel gives, a colour listed twice going to its first class."""
    rng = np.random.default_rng(0)
    palette = Palette(
        names=("a", "b", "c", "d"), colours=((10, 20, 30), (200, 0, 0), (10, 20, 30), (0, 0, 255))
    )
    rgb = np.asarray(palette.colours, np.uint8)[rng.integers(0, 4, (40, 50))]
    scattered = rng.random((40, 50)) < 0.3
    rgb[scattered] = rng.integers(0, 256, (int(scattered.sum()), 3), dtype=np.uint8)
    table = np.asarray(palette.colours, np.int32)
    nearest = ((rgb.reshape(-1, 1, 3).astype(np.int32) - table[None]) ** 2).sum(-1).argmin(1)
    decoded = palette.decode(rgb)
    assert np.array_equal(decoded, nearest.reshape(40, 50)) and not (decoded == 2).any()
