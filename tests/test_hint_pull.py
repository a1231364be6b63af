"""The colour pull after the generator: hinted colours come through near their dabs, on the
object only, and nothing moves without hints."""

import pytest
import torch
import torch.nn.functional as F

from engine.inference.loader import load_predictor
from engine.pipelines.hint_pull import gaussian_blur, grow, pull_toward_hints


def grey_shoe_on_paper() -> torch.Tensor:
    image = torch.ones(1, 3, 128, 128)  # paper white
    image[:, :, 32:96, 16:112] = -0.2  # a grey object
    return image


def red_dab(row: int, col: int) -> torch.Tensor:
    hints = torch.zeros(1, 4, 128, 128)
    dab(hints, row, col, (0.8, -0.8, -0.8))
    return hints


def test_the_dab_colour_spreads_over_the_nearby_object_only():
    out = pull_toward_hints(grey_shoe_on_paper(), red_dab(64, 40))
    near, far = out[0, :, 64, 48], out[0, :, 64, 108]
    assert near[0] > 0.5 and near[1] < -0.5  # red, where it was grey
    assert torch.allclose(far, torch.full((3,), -0.2), atol=0.02)  # 68 px away: untouched
    assert torch.equal(out[0, :, 10, 40], torch.ones(3))  # the paper stays white


def dab(hints: torch.Tensor, row: int, col: int, colour: tuple[float, float, float]) -> None:
    hints[:, :3, row - 3 : row + 3, col - 3 : col + 3] = torch.tensor(colour).view(1, 3, 1, 1)
    hints[:, 3, row - 3 : row + 3, col - 3 : col + 3] = 1.0


def test_colour_stays_in_the_area_the_drawing_closes():
    """A box split by a line into a left and a right part: a red dab on the left and a blue
    one on the right. Beside the line each side takes its own dab's colour; without the
    drawing the colours mix across the line."""
    drawing = torch.ones(1, 3, 128, 128)
    drawing[:, :, 30:32, 16:112] = drawing[:, :, 96:98, 16:112] = -1.0  # top and bottom
    drawing[:, :, 30:98, 16:18] = drawing[:, :, 30:98, 110:112] = -1.0  # left and right
    drawing[:, :, 30:98, 63:65] = -1.0  # the dividing line
    hints = torch.zeros(1, 4, 128, 128)
    dab(hints, 64, 50, (0.8, -0.8, -0.8))
    dab(hints, 64, 78, (-0.8, -0.8, 0.8))
    shoe = grey_shoe_on_paper()
    with_areas = pull_toward_hints(shoe, hints, drawing=drawing)
    plain = pull_toward_hints(shoe, hints)
    left, right = with_areas[0, :, 64, 58], with_areas[0, :, 64, 70]
    assert left[0] > 0.5 and left[2] < -0.5  # red up to the line
    assert right[2] > 0.5 and right[0] < -0.5  # blue beyond it
    assert (plain[0, 0, 64, 58] - plain[0, 2, 64, 58]) < (left[0] - left[2]) - 0.3  # mixed without it


def test_a_dab_the_generator_matched_only_on_the_spot_still_colours_its_surroundings():
    """Generators paint the hint on the dab and stay grey around it: the pull reads the colour
    around the dab, so the area turns red, and the spot is filled from around it."""
    shoe = grey_shoe_on_paper()
    hints = red_dab(64, 40)
    shoe[:, :, 61:67, 37:43] = hints[:, :3, 61:67, 37:43]  # the generator matched the dab itself
    out = pull_toward_hints(shoe, hints)
    near = out[0, :, 64, 52]  # 9 px beyond the dab
    assert near[0] > 0.5 and near[1] < -0.5
    spot, beside = out[0, :, 64, 40], out[0, :, 64, 46]
    assert torch.allclose(spot, beside, atol=0.1)  # no darker or brighter mark where the dab was


def test_without_hints_nothing_moves():
    image = grey_shoe_on_paper()
    assert torch.equal(pull_toward_hints(image, torch.zeros(1, 4, 128, 128)), image)


def test_blur_keeps_a_constant_and_spreads_a_point():
    assert torch.allclose(
        gaussian_blur(torch.full((1, 2, 20, 20), 0.3), 2.0), torch.full((1, 2, 20, 20), 0.3)
    )
    point = torch.zeros(1, 1, 21, 21)
    point[..., 10, 10] = 1.0
    spread = gaussian_blur(point, 2.0)
    assert abs(spread.sum().item() - 1.0) < 1e-5 and spread[..., 10, 12] > spread[..., 10, 14] > 0


def test_blur_and_grow_match_the_plain_convolution_and_max_pool():
    """The matrix blur and the shifted-maxima dilation are speed-ups: they must give what a
    replicate-padded separable convolution and a max-pool give, borders included."""
    x = torch.rand(2, 3, 40, 56)
    sigma = 3.0
    radius = int(3 * sigma)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    padded = F.pad(x.reshape(6, 1, 40, 56), (radius,) * 4, mode="replicate")
    reference = F.conv2d(F.conv2d(padded, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))
    assert torch.allclose(gaussian_blur(x, sigma), reference.view_as(x), atol=1e-6)
    for radius in (1, 3, 5):
        side = 2 * radius + 1
        assert torch.equal(grow(x, radius), F.max_pool2d(x, side, 1, radius))


def test_the_sketch_pipeline_pulls_unless_asked_for_raw_colours(aligned_dataset):
    from engine.pipelines.sketch import SketchPipeline
    from engine.training.loop import TrainSettings, train
    from support.tiny import TINY_PIX2PIX

    run = train(
        "pix2pix",
        TrainSettings(data=str(aligned_dataset), max_steps=1, batch_size=2),
        {**TINY_PIX2PIX, "hints": True, "mode": "l1"},
    )
    predictor = load_predictor(run)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    dab = torch.zeros(1, 4, 32, 32)
    dab[:, 0, 12:18, 12:18], dab[:, 3, 12:18, 12:18] = 1.0, 1.0
    pulled = SketchPipeline(predictor).translate_tensor(x, dab)
    raw = SketchPipeline(predictor, colour_pull=False).translate_tensor(x, dab)
    assert torch.equal(raw, predictor.translate_tensor(x, dab))  # the server itself does not pull
    assert torch.equal(pulled, pull_toward_hints(raw, dab, drawing=x))
    assert (pulled[0, 0, 12:18, 12:18] >= raw[0, 0, 12:18, 12:18]).all()
    assert pulled[0, 0, 12:18, 12:18].mean() > raw[0, 0, 12:18, 12:18].mean()


def test_paper_outside_a_closed_outline_only():
    """Outside a closed drawing (beyond its margin) the answer is white paper; inside it, and
    everywhere for a drawing that closes nothing, the generator's pixels stay."""
    from engine.pipelines.paper import MARGIN, paper_outside

    closed = torch.ones(1, 3, 128, 128)
    closed[:, :, 40:42, 20:108] = closed[:, :, 90:92, 20:108] = -1.0  # a box
    closed[:, :, 40:92, 20:22] = closed[:, :, 40:92, 106:108] = -1.0
    open_stroke = torch.ones(1, 3, 128, 128)
    open_stroke[:, :, 60:62, 20:108] = -1.0
    brown = torch.full((2, 3, 128, 128), -0.3)
    out = paper_outside(brown, torch.cat([closed, open_stroke]))
    assert torch.equal(out[0, :, 10, :], torch.ones(3, 128))  # far above the box: paper
    assert torch.equal(out[0, :, 60:80, 30:100], brown[0, :, 60:80, 30:100])  # inside: kept
    assert torch.allclose(out[0, :, 92 + MARGIN - 2, 60], brown[0, :, 0, 0], atol=0.05)  # the margin
    assert torch.equal(out[1], brown[1])  # an open stroke encloses nothing: untouched


@pytest.mark.parametrize("corner", [(40, 30), (0, 0), (96, 90)])
def test_paper_made_in_the_outlines_box_is_the_paper_made_over_the_whole_image(corner):
    """The soft mask is computed around the outlines only; near an image border too (where the
    blur repeats the border), the answer is the whole image's computation."""
    from engine.pipelines.hint_pull import gaussian_blur, grow
    from engine.pipelines.paper import MARGIN, SOFT, enclosed, paper_outside

    top, left = corner
    drawing = torch.ones(1, 3, 128, 128)
    box = drawing[:, :, top : top + 40, left : left + 40]  # a square outline, clipped by the border
    box[:, :, :2] = box[:, :, -2:] = box[:, :, :, :2] = box[:, :, :, -2:] = -1.0
    generated = torch.rand(1, 3, 128, 128) * 2 - 1
    mask = torch.from_numpy(enclosed(drawing)[0][None, None]).float()
    keep = gaussian_blur(grow(mask, MARGIN), SOFT)
    keep = torch.where(keep > 0.9999, 1.0, keep.clamp_min(0))
    assert torch.allclose(paper_outside(generated, drawing), generated * keep + (1 - keep), atol=1e-6)
