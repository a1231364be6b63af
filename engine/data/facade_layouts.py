"""Random facade label maps in the CMP classes: something to start painting from when no
facades test set is on the machine (the studio never ships dataset files). A facade fills the
frame under a strip of background; floors of windows (with sills, sometimes blinds or
balconies) sit between cornices; the ground floor has a door and shop windows."""

from __future__ import annotations

import numpy as np

from engine.data.label_maps import FACADES

CLASS = {name: i for i, name in enumerate(FACADES.names)}


def random_facade(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """size x size uint8 class indices of one plausible facade."""
    labels = np.full((size, size), CLASS["facade"], np.uint8)
    top = int(rng.integers(size // 20, size // 6))
    labels[:top] = CLASS["background"]
    ground = size - int(rng.integers(size // 6, size // 4))
    floors = int(rng.integers(3, 6))
    columns = int(rng.integers(3, 7))
    floor_height = (ground - top) / floors
    bay = size / columns
    width = int(bay * rng.uniform(0.35, 0.55))
    height = int(floor_height * rng.uniform(0.45, 0.65))
    blinds = rng.random() < 0.4
    for floor in range(floors):
        y0 = int(top + floor * floor_height)
        labels[y0 : y0 + max(2, size // 80)] = CLASS["cornice"]
        wy = y0 + int((floor_height - height) * 0.55)
        balcony = rng.random() < 0.25 and floor > 0
        for col in range(columns):
            wx = int(col * bay + (bay - width) / 2)
            labels[wy : wy + height, wx : wx + width] = CLASS["window"]
            if blinds:
                labels[wy : wy + height // 3, wx : wx + width] = CLASS["blind"]
            sill = wy + height
            labels[sill : sill + max(2, size // 90), wx - 2 : wx + width + 2] = CLASS["sill"]
            if balcony:
                labels[sill - height // 4 : sill, wx - 3 : wx + width + 3] = CLASS["balcony"]
    labels[ground : ground + max(2, size // 70)] = CLASS["molding"]
    door = int(rng.integers(0, columns))
    for col in range(columns):
        x0, x1 = int(col * bay + bay * 0.15), int(col * bay + bay * 0.85)
        kind = "door" if col == door else "shop"
        labels[ground + size // 40 :, x0:x1] = CLASS[kind]
    return labels
