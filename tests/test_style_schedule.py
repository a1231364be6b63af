"""Gatys' coarse-to-fine schedule: where a finer level starts, the flat-loss stopping rule,
and the written-out L-BFGS (which must take the same steps as torch.optim.LBFGS)."""

from __future__ import annotations

import pytest
import torch

from engine.style.gatys import StyleConfig, stylize_steps
from engine.style.optimize import LBFGS
from engine.style.schedule import is_flat, resize, upsample_start
from support.style import TINY_LAYERS, picture

pytestmark = pytest.mark.usefixtures("one_thread")


def test_is_flat_triggers_on_a_flat_loss_only() -> None:
    falling = [1.0 * 0.9**i for i in range(20)]
    assert not any(is_flat(falling[:n], 0.01) for n in range(1, 21))
    flat = falling[:8] + [falling[7] * (1 - 1e-4 * i) for i in range(1, 8)]
    assert is_flat(flat, 0.01)
    assert not is_flat(flat, 0.0)  # 0 never stops
    assert not is_flat(flat[:5], 0.5)  # not before a whole window has passed
    assert is_flat([1.0] * 5 + [1.2], 0.01)  # a rise is no gain either


def test_upsample_start_sizes_and_the_photos_detail() -> None:
    photo = torch.rand(1, 3, 40, 60) * 2 - 1
    coarse_photo = resize(photo, (20, 30))
    for refine in ("detail", "plain"):
        assert upsample_start(coarse_photo, photo, refine).shape == photo.shape
    # nothing changed at the coarse level: "detail" starts from the photo itself, "plain" from a blur
    torch.testing.assert_close(upsample_start(coarse_photo, photo, "detail"), photo)
    assert (upsample_start(coarse_photo, photo, "plain") - photo).abs().mean() > 0.05
    # a change made at the coarse level is carried up
    shifted = upsample_start(coarse_photo + 0.3, photo, "detail")
    torch.testing.assert_close(shifted, photo + 0.3)


@pytest.mark.parametrize("history", [3, 20])
def test_lbfgs_takes_the_steps_of_torch_optim(history: int) -> None:
    torch.manual_seed(0)
    a = torch.randn(30, 30)
    a = a @ a.T / 30 + 0.1 * torch.eye(30)
    b = torch.randn(30)

    def loss_of(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x @ a @ x - b @ x + 0.1 * x.pow(4).sum()

    ours, theirs = torch.zeros(30, requires_grad=True), torch.zeros(30, requires_grad=True)
    opt_ours = LBFGS(ours, lr=1.0, history_size=history)
    opt_theirs = torch.optim.LBFGS([theirs], lr=1.0, max_iter=1, history_size=history)
    for _ in range(15):
        for opt, x in ((opt_ours, ours), (opt_theirs, theirs)):

            def closure(opt=opt, x=x) -> torch.Tensor:
                opt.zero_grad()
                loss = loss_of(x)
                loss.backward()
                return loss

            opt.step(closure)
        torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-5, atol=1e-6)
    assert loss_of(ours).item() < loss_of(torch.zeros(30)).item() - 1.0  # and it did descend


def tiny(tiny_vgg: str, **kw) -> StyleConfig:
    base = dict(size=48, weights=tiny_vgg, precision="fp32", preview_every=0, **TINY_LAYERS)
    return StyleConfig(**{**base, **kw})


@pytest.mark.parametrize("refine", ["detail", "plain"])
def test_coarse_to_fine_ends_at_the_full_size_and_the_loss_falls(tiny_vgg: str, refine: str) -> None:
    cfg = tiny(tiny_vgg, levels=2, coarse_steps=6, steps=6, refine=refine)
    steps = list(stylize_steps(picture(1, 64), picture(2, 64), cfg))
    assert [p.size for p in steps] == [(24, 24)] * 6 + [(48, 48)] * 6
    assert steps[-1].done and steps[-1].image.size == (48, 48)
    fine = [p.total_loss for p in steps[6:]]
    assert fine[-1] < fine[0]


def test_a_flat_level_stops_early_and_the_totals_say_so(tiny_vgg: str) -> None:
    # a tiny step size makes every level flat from the start: each stops after one window
    cfg = tiny(tiny_vgg, levels=2, coarse_steps=40, steps=40, flat=0.5, lr=1e-6)
    steps = list(stylize_steps(picture(1, 64), picture(2, 64), cfg))
    sizes = [p.size for p in steps]
    assert sizes.count((24, 24)) == 6 and sizes.count((48, 48)) == 6
    assert [p.step for p in steps] == list(range(1, 13))
    assert steps[-1].done and steps[-1].total_steps == 12 and steps[-1].image.size == (48, 48)
    assert not any(p.done for p in steps[:-1])


def test_score_picture_is_the_objective_of_the_picture(tiny_vgg: str) -> None:
    from engine.style.score import score_picture

    cfg = tiny(tiny_vgg)
    photo, painting = picture(1, 64), picture(2, 64)
    itself = score_picture(photo, photo, painting, cfg)
    assert set(itself) == {"content", "style", "tv", "total"}
    assert itself["content"] == pytest.approx(0.0, abs=1e-6) and itself["style"] > 0
    # a picture closer to the painting scores a lower style term than the photo does
    closer = score_picture(painting, photo, painting, cfg)
    assert closer["style"] < itself["style"] and closer["content"] > 0


def test_a_scaled_lbfgs_first_step_is_the_scaled_gradient_and_carries_over() -> None:
    from engine.style.optimize import carried_scale

    x = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = LBFGS(x, lr=1.0, scale=0.25)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (x**2).sum()  # gradient 2x
        loss.backward()
        return loss

    opt.step(closure)
    torch.testing.assert_close(x.detach(), torch.tensor([0.5, -1.0]))  # x - 0.25 * 2x
    assert carried_scale(opt, 100, 400) is None  # no curvature pair yet
    opt.step(closure)
    # x . x has curvature 2: the inverse curvature learnt is 0.5, four times the pixels -> 2.0
    assert carried_scale(opt, 100, 400) == pytest.approx(2.0)
    assert carried_scale(torch.optim.Adam([x]), 100, 400) is None


def test_gram_backward_matches_autograd_in_both_layouts() -> None:
    from engine.style.losses import gram_matrix

    torch.manual_seed(0)
    weights = torch.randn(2, 8, 8)
    for layout in (torch.contiguous_format, torch.channels_last):
        f = torch.randn(2, 8, 5, 6).contiguous(memory_format=layout).requires_grad_(True)
        flat = f.reshape(2, 8, 30)
        expected = torch.bmm(flat, flat.transpose(1, 2)) / 240
        torch.testing.assert_close(gram_matrix(f), expected)
        (ours,) = torch.autograd.grad((gram_matrix(f) * weights).sum(), f)
        (theirs,) = torch.autograd.grad((expected * weights).sum(), f)
        torch.testing.assert_close(ours, theirs)


def test_carrying_the_curvature_changes_only_the_finer_levels_start(tiny_vgg: str) -> None:
    runs = {
        carry: [p.total_loss for p in stylize_steps(picture(1, 64), picture(2, 64), tiny(
            tiny_vgg, levels=2, coarse_steps=6, steps=3, flat=0, carry=carry))]
        for carry in (True, False)
    }  # fmt: skip
    assert runs[True][:7] == pytest.approx(runs[False][:7])  # the coarse level and the fine start
    assert runs[True][7] != pytest.approx(runs[False][7])  # the first fine step differs


def test_match_colors_takes_the_styles_mixed_statistics_and_keeps_the_layout() -> None:
    from engine.style.schedule import match_colors

    torch.manual_seed(0)
    photo = torch.rand(1, 3, 20, 30) * 0.5 - 0.5
    red, blue = torch.rand(1, 3, 16, 16) * 0.2, torch.rand(1, 3, 8, 12) * 0.6 - 0.3
    matched = match_colors(photo, [red], [1.0])
    torch.testing.assert_close(matched.mean((-2, -1)), red.mean((-2, -1)), atol=1e-5, rtol=0)
    torch.testing.assert_close(matched.std((-2, -1)), red.std((-2, -1)), atol=1e-5, rtol=0)
    # the photo's pattern is kept: per channel the matched picture is an increasing map of it
    assert torch.corrcoef(torch.stack([photo[0, 0].flatten(), matched[0, 0].flatten()]))[0, 1] > 0.999
    mixed = match_colors(photo, [red, blue], [0.25, 0.75])
    expected = 0.25 * red.mean((-2, -1)) + 0.75 * blue.mean((-2, -1))
    torch.testing.assert_close(mixed.mean((-2, -1)), expected, atol=1e-5, rtol=0)


def test_the_matched_start_changes_where_the_run_starts(tiny_vgg: str) -> None:
    runs = {
        init: next(
            iter(stylize_steps(picture(1, 64), picture(2, 64), tiny(tiny_vgg, levels=1, steps=1, init=init)))
        )
        for init in ("content", "matched")
    }
    assert runs["content"].content_loss == pytest.approx(0.0, abs=1e-6)  # the photo itself
    assert runs["matched"].content_loss > 1e-4  # the recoloured photo: the content loss sees the change
