"""Synthetic clean images: dead leaves with saturated, unrelated colours.

The training photos (BSDS) are muted; their three channels move together
almost everywhere. Dead-leaves images (overlapping discs whose radii follow a
power law) share the edge and scale statistics of natural photos but give
every disc a colour drawn independently per channel, with a smooth shading
ramp, so the network also sees large saturated areas with sharp colour edges:
flowers, fabric, painted objects.
"""
from __future__ import annotations

import cv2
import numpy as np

# Disc radii follow p(r) ~ r^-3 between these bounds, in pixels; that exponent
# makes the picture look alike at every scale, as natural images roughly do.
MIN_RADIUS = 4.0
MAX_RADIUS = 160.0
# Softens disc edges the way a lens and demosaicing soften real edges.
EDGE_BLUR_SIGMA = 0.7


def _radius(rng: np.random.Generator) -> float:
    # Inverse CDF of p(r) ~ r^-3 truncated to [MIN_RADIUS, MAX_RADIUS].
    low, high = MIN_RADIUS**-2, MAX_RADIUS**-2
    return float((low - rng.random() * (low - high)) ** -0.5)


def dead_leaves(size: int, rng: np.random.Generator, discs: int = 4000) -> np.ndarray:
    """A ``size`` x ``size`` 8-bit RGB dead-leaves image.

    Discs lie back to front, each one a random colour with a random linear
    shading across it; later discs hide earlier ones. All discs are drawn
    first (in the order that fixes the image for a seed), then painted front
    to back into the pixels still bare, stopping once none is: the same image
    as painting all of them back to front, several times faster.
    """
    background = rng.random(3).astype(np.float32)
    placed = []
    for _ in range(discs):
        radius = _radius(rng)
        cy, cx = rng.uniform(-radius, size + radius, 2)
        top, bottom = max(0, int(cy - radius)), min(size, int(cy + radius) + 1)
        left, right = max(0, int(cx - radius)), min(size, int(cx + radius) + 1)
        if top >= bottom or left >= right:
            continue
        slope_y, slope_x = rng.uniform(-0.25, 0.25, 2)
        placed.append((radius, cy, cx, top, bottom, left, right, slope_y, slope_x, rng.random(3).astype(np.float32)))
    image = np.empty((size, size, 3), dtype=np.float32)
    bare = np.ones((size, size), dtype=bool)
    for radius, cy, cx, top, bottom, left, right, slope_y, slope_x, colour in reversed(placed):
        dy = (np.arange(top, bottom, dtype=np.float32) - cy)[:, None] / radius
        dx = (np.arange(left, right, dtype=np.float32) - cx)[None, :] / radius
        paint = (dy**2 + dx**2 < 1.0) & bare[top:bottom, left:right]
        if not paint.any():
            continue
        shading = 1.0 + slope_y * dy + slope_x * dx
        image[top:bottom, left:right][paint] = (shading[..., None] * colour)[paint]
        bare[top:bottom, left:right] &= ~paint
        if not bare.any():
            break
    image[bare] = background
    image = cv2.GaussianBlur(image, (0, 0), EDGE_BLUR_SIGMA)
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def dead_leaves_set(count: int, size: int, seed: int) -> list[np.ndarray]:
    """``count`` dead-leaves images, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return [dead_leaves(size, rng) for _ in range(count)]
