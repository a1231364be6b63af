"""The image history of Shrivastava et al. (2017) that CycleGAN's discriminators learn from.

A discriminator that only ever sees the generator's latest outputs chases it in circles; one
that also sees older outputs steadies training. Once the pool holds `size` images, each new
image is, with probability 1/2, swapped for a random stored one (the stored one goes to the
discriminator) and otherwise passed through, as the official `ImagePool`.
"""

from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int = 50) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch for the discriminator: as many images as given, some from the history."""
        if self.size == 0:
            return images
        returned = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif float(torch.rand((), generator=generator)) > 0.5:
                index = int(torch.randint(0, self.size, (), generator=generator))
                returned.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                returned.append(image)
        return torch.cat(returned, 0)

    def state_dict(self) -> dict:
        """What a checkpoint keeps, so a resumed run draws from the same history."""
        return {"images": [image.cpu() for image in self.images]}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        self.images = [image.to(device) for image in state.get("images", [])]
