"""Draw the application icon and write it in the forms the installers need.

    python packaging/make_icons.py

Writes ``resources/icons/app.png`` (1024 px, used by the window and Linux),
``app.ico`` (Windows, 16–256 px) and ``app.icns`` (macOS). The picture is a
small landscape, grainy on the left of a diagonal and clean on the right: what
the app does, readable at 16 px. Drawn from a fixed seed, so the files only
change when this script does; the outputs are committed, so a build never
needs to run it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZE = 1024
# Drawn larger and scaled down, which anti-aliases every edge.
SUPERSAMPLE = 2
ICO_SIZES = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]


def vertical_gradient(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    mix = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = (1 - mix) * np.array(top, np.float32) + mix * np.array(bottom, np.float32)
    return np.broadcast_to(column, (height, width, 3)).copy()


def landscape(size: int) -> np.ndarray:
    """Sky, sun and two ridges of hills, as float RGB in 0–255."""
    picture = vertical_gradient(size, size, (255, 190, 120), (120, 170, 235))
    layer = Image.fromarray(picture.astype(np.uint8))
    draw = ImageDraw.Draw(layer)
    sun = size * 0.16
    centre = (size * 0.66, size * 0.36)
    draw.ellipse((centre[0] - sun, centre[1] - sun, centre[0] + sun, centre[1] + sun), fill=(255, 238, 170))
    far = [(0, size * 0.62), (size * 0.28, size * 0.46), (size * 0.55, size * 0.60), (size * 0.82, size * 0.48),
           (size, size * 0.58), (size, size), (0, size)]
    near = [(0, size * 0.80), (size * 0.35, size * 0.64), (size * 0.70, size * 0.78), (size, size * 0.70),
            (size, size), (0, size)]
    draw.polygon(far, fill=(58, 110, 120))
    draw.polygon(near, fill=(30, 70, 78))
    return np.asarray(layer, np.float32)


def with_grain(picture: np.ndarray, rng: np.random.Generator, grain_px: int) -> np.ndarray:
    """Coarse luminance and chroma grain, as high-ISO noise looks when it is shown small."""
    height, width, _ = picture.shape
    cells = (-(-height // grain_px), -(-width // grain_px))
    luma = rng.normal(0.0, 26.0, cells)[..., None]
    chroma = rng.normal(0.0, 18.0, (*cells, 3))
    grain = np.kron(luma + chroma, np.ones((grain_px, grain_px, 1)))
    return np.clip(picture + grain[:height, :width], 0, 255)


def draw_icon(size: int = SIZE, seed: int = 7) -> Image.Image:
    big = size * SUPERSAMPLE
    clean = landscape(big)
    noisy = with_grain(clean, np.random.default_rng(seed), grain_px=big // 80)
    rows, cols = np.mgrid[0:big, 0:big]
    # Grainy above the diagonal from bottom left to top right, clean below it.
    grainy_side = (rows + cols) < big
    picture = np.where(grainy_side[..., None], noisy, clean).astype(np.uint8)
    image = Image.fromarray(picture).convert("RGBA")

    divider = Image.new("L", (big, big), 0)
    ImageDraw.Draw(divider).line([(0, big), (big, 0)], fill=255, width=big // 64)
    image.paste((255, 255, 255, 255), mask=divider)

    margin = big * 0.06
    radius = big * 0.2
    shape = Image.new("L", (big, big), 0)
    ImageDraw.Draw(shape).rounded_rectangle((margin, margin, big - margin, big - margin), radius=radius, fill=255)
    image.putalpha(shape)

    shadow = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    shadow.putalpha(shape.filter(ImageFilter.GaussianBlur(big / 80)).point(lambda a: a * 0.45))
    shadow = shadow.transform(shadow.size, Image.Transform.AFFINE, (1, 0, 0, 0, 1, -big / 120))
    return Image.alpha_composite(shadow, image).resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    icon = draw_icon()
    icon.save(ICONS / "app.png", optimize=True)
    icon.save(ICONS / "app.ico", sizes=ICO_SIZES)
    icon.save(ICONS / "app.icns")
    for path in sorted(ICONS.glob("app.*")):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
