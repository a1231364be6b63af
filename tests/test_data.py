import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.data.datasets import AlignedDataset, open_paired_dataset
from engine.data.images import ImageLoadError, load_image
from engine.data.sampling import ResumableSampler
from engine.data.sketch import EmptySketchError, prepare_sketch, stroke_width


def test_aligned_dataset_splits_crops_and_flips(aligned_dataset):
    train = open_paired_dataset(aligned_dataset, "train", "AtoB", load_size=36, crop_size=32)
    assert len(train) == 8
    item = train[(0, 123)]
    assert item["A"].shape == item["B"].shape == (3, 32, 32)
    assert -1 <= item["A"].min() and item["A"].max() <= 1
    assert torch.equal(train[(0, 5)]["A"], train[(0, 5)]["A"])  # seed decides the crop
    val = open_paired_dataset(aligned_dataset, "val", "AtoB", load_size=32, crop_size=32)
    a_white = (val[0]["A"] > 0.9).float().mean()
    assert a_white > 0.8  # A (left) is the mostly white outline image
    flipped = open_paired_dataset(aligned_dataset, "val", "BtoA", load_size=32, crop_size=32)
    assert torch.equal(flipped[0]["A"], val[0]["B"])


def test_paired_folders_match_file_names(tmp_path):
    for folder, colour in (("photos", "red"), ("sketches", "white")):
        (tmp_path / folder).mkdir()
        for name in ("f1", "f2", "only_here"):
            if folder == "sketches" and name == "only_here":
                continue
            Image.new("RGB", (20, 25), colour).save(
                tmp_path / folder / f"{name}.{'jpg' if folder == 'photos' else 'png'}"
            )
    ds = open_paired_dataset(tmp_path, "train", "AtoB", load_size=16, crop_size=16, train=False)
    assert len(ds) == 2 and ds.name(0) == "f1"
    assert ds[0]["A"][0].mean() > 0.9 and ds[0]["A"][1].mean() < -0.9  # red photo is A


def test_cufs_style_split_folders_are_found(tmp_path):
    for split, count in (("CUHK_student_train", 3), ("CUHK_student_test", 2)):
        for folder in ("photos", "sketches"):
            (tmp_path / split / folder).mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (20, 25), "grey").save(tmp_path / split / folder / f"f{i}.png")
    assert len(open_paired_dataset(tmp_path, "train", load_size=16, crop_size=16)) == 3
    assert len(open_paired_dataset(tmp_path, "val", load_size=16, crop_size=16)) == 2  # val -> test
    from engine.data.sources import find_local_dataset

    assert find_local_dataset(tmp_path.name, [tmp_path.parent]) == tmp_path


def test_corrupt_image_error_names_the_file(aligned_dataset):
    bad = aligned_dataset / "train" / "zz_broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageLoadError, match="zz_broken.jpg"):
        open_paired_dataset(aligned_dataset, "train", load_size=36, crop_size=32)
    with pytest.warns(UserWarning, match="zz_broken.jpg"):
        ds = open_paired_dataset(aligned_dataset, "train", load_size=36, crop_size=32, skip_bad=True)
    assert len(ds) == 8


def test_truncated_image_is_caught_when_decoded(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 128, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(ImageLoadError, match="cut.png"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="cut.png"):
        AlignedDataset(tmp_path, load_size=32, crop_size=32, train=False, cache=False)[0]


def test_oversized_images_are_refused(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(path)
    with pytest.raises(ImageLoadError, match="pixel limit"):
        load_image(path, max_pixels=10_000)


def test_sampler_resumes_and_shards():
    full = ResumableSampler(10, seed=3)
    stream = [x for _, x in zip(range(35), full)]
    later = [x for _, x in zip(range(25), ResumableSampler(10, seed=3, start=10))]
    assert later == stream[10:]
    assert sorted(i for i, _ in stream[:10]) == list(range(10))  # an epoch is a permutation
    r0 = [i for _, (i, _) in zip(range(5), ResumableSampler(10, 3, rank=0, world=2))]
    r1 = [i for _, (i, _) in zip(range(5), ResumableSampler(10, 3, rank=1, world=2))]
    assert sorted(r0 + r1) == list(range(10))


def canvas_drawing(size=512, width=14) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))  # a transparent Gradio canvas
    ImageDraw.Draw(img).line([(150, 300), (250, 200), (350, 320)], fill=(0, 0, 0, 255), width=width)
    return img


def test_sketch_becomes_thin_dark_lines_on_white_filling_the_frame():
    out = prepare_sketch(canvas_drawing())
    assert out.size == (256, 256) and out.mode == "RGB"
    gray = np.asarray(out.convert("L"))
    assert (gray > 128).mean() > 0.95  # white paper, not black
    assert stroke_width(out) < 1.6  # close to edges2shoes' 1-pixel edges
    cols = np.nonzero((gray < 128).any(axis=0))[0]
    assert cols.min() < 30 and cols.max() > 225  # fitted to the frame with a margin


def test_white_on_black_and_empty_sketches():
    inverted = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(inverted).line([(10, 50), (90, 50)], fill=255, width=5)
    gray = np.asarray(prepare_sketch(inverted).convert("L"))
    assert (gray > 128).mean() > 0.95 and (gray < 128).any()
    with pytest.raises(EmptySketchError):
        prepare_sketch(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))


def test_tensors_and_images_convert_both_ways_exactly():
    """[-1, 1] CHW -> PIL RGB rounds each value to the nearest of 256 levels (out-of-range
    values clamp), whatever the dtype, and leaves the tensor as it was; image -> tensor -> image
    gives back the same pixels."""
    import numpy as np
    import torch
    from PIL import Image

    from engine.data.images import image_to_tensor, tensor_to_image

    t = torch.rand(3, 5, 7) * 2.4 - 1.2
    kept = t.clone()
    expected = np.clip(np.round((np.clip(t.numpy(), -1, 1) + 1) * 127.5), 0, 255).astype(np.uint8)
    for x in (t, t.to(torch.bfloat16).float(), t.double()):
        want = np.clip(np.round((np.clip(x.double().numpy(), -1, 1) + 1) * 127.5), 0, 255).astype(np.uint8)
        got = np.asarray(tensor_to_image(x))
        assert got.shape == (5, 7, 3) and np.abs(got.astype(int) - want.transpose(1, 2, 0)).max() <= 1
    assert np.array_equal(np.asarray(tensor_to_image(t)), expected.transpose(1, 2, 0))
    assert torch.equal(t, kept)
    pixels = np.random.default_rng(0).integers(0, 256, (6, 4, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(tensor_to_image(image_to_tensor(Image.fromarray(pixels)))), pixels)
