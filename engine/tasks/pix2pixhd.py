"""pix2pixHD (Wang et al. 2018): label map -> photo with a global ResNet generator (4
downsamplings, residual blocks, 4 upsamplings), two or three PatchGANs at falling scales, LSGAN,
discriminator feature matching and a VGG19 perceptual loss (both weighted 10).

`--local-enhancer` trains G2 at the crop size around a global generator working at half of it;
start it from a global run (`--init-from RUN`) as the paper does. Losses: G_GAN, G_GAN_Feat,
G_VGG, D_real, D_fake (the official names)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from engine.flags import BLOCKS, WIDTH, knob
from engine.models.pix2pixhd import LocalEnhancer
from engine.models.resnet import ResnetGenerator
from engine.store.checkpoints import read_weights
from engine.store.models import resolve_model
from engine.tasks.label_to_image import LabelToImage, LabelToImageConfig


@dataclass
class Pix2PixHDConfig(LabelToImageConfig):
    ngf: int = knob(64, "global generator width (the enhancer: half)", span=WIDTH)
    n_blocks: int = knob(9, "residual blocks of the global generator", span=BLOCKS)
    local_enhancer: bool = knob(False, "add G2: twice the resolution")
    n_blocks_local: int = knob(3, span=BLOCKS)
    init_from: str = knob("", "a global run or checkpoint to start G from")


class Pix2PixHD(LabelToImage):
    name = "pix2pixhd"
    Config = Pix2PixHDConfig

    @classmethod
    def build_served(cls, config: Pix2PixHDConfig) -> dict[str, nn.Module]:
        classes = len(config.class_names)
        global_g = ResnetGenerator(classes, 3, config.ngf, config.n_blocks, "instance", downsamplings=4)
        if not config.local_enhancer:
            return {"G": global_g}
        return {"G": LocalEnhancer(global_g, classes, config.ngf // 2, config.n_blocks_local)}

    def __init__(self, config: Pix2PixHDConfig, device, precision) -> None:
        super().__init__(config, device, precision)
        if config.init_from:
            load_global_weights(self.nets["G"], config.init_from)


def load_global_weights(net: nn.Module, model: str) -> None:
    """Start from a trained generator: the whole of it, or its global part for an enhancer."""
    weights = read_weights(resolve_model(model))[0]["G"]
    if isinstance(net, LocalEnhancer):
        # the global generator minus its output layer: its keys are model.0 ... model.N-3
        kept = {k: v for k, v in weights.items() if int(k.split(".")[1]) < len(net.model_global)}
        net.model_global.load_state_dict({k.removeprefix("model."): v.float() for k, v in kept.items()})
    else:
        net.load_state_dict({k: v.float() for k, v in weights.items()})


TASK = Pix2PixHD
