"""Contact sheet of real noisy photos: noisy | denoised (| reference) crops at 100%, for looking at, not scoring.

    python -m model.contact_sheet [--model NAME|PATH] [--images RNI15/Frog.png CC15/d800_iso6400_1_real.png ...]
        [--output docs/real_noise_contact_sheet.png]

Images are named relative to the test folder. A real-noise pair's ``_real``
file gets its ``_mean`` reference as a third column. Each denoised crop is
labelled with the Auto level the engine read for the photo.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.imageio import read_image
from model.data import data_root
from model.evaluate import to_uint8

DEFAULT_IMAGES = (
    "RNI15/Frog.png",
    "RNI15/Dog.png",
    "RNI15/Flowers.png",
    "CC15/d800_iso6400_1_real.png",
    "CC15/5dmark3_iso3200_2_real.png",
    "Nam25/nam05_real.png",
    "Nam25/nam12_real.png",
)
REAL_SUFFIX, REFERENCE_SUFFIX = "_real", "_mean"
CROP = 256
LABEL_HEIGHT = 22


def busiest_crop(pixels: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the crop with the most local contrast: where denoisers fail visibly."""
    grey = pixels.mean(axis=2)
    height, width = grey.shape
    if height <= size or width <= size:
        return 0, 0
    detail = np.abs(np.diff(grey, axis=1))[:-1] + np.abs(np.diff(grey, axis=0))[:, :-1]
    step = size // 4
    best, corner = -1.0, (0, 0)
    for top in range(0, height - size, step):
        for left in range(0, width - size, step):
            score = float(np.median(detail[top : top + size, left : left + size]))
            if score > best:
                best, corner = score, (top, left)
    return corner


def to_tile(pixels: np.ndarray, label: str) -> Image.Image:
    image = Image.fromarray(to_uint8(pixels).squeeze()).convert("RGB")
    tile = Image.new("RGB", (image.width, image.height + LABEL_HEIGHT), "white")
    tile.paste(image, (0, LABEL_HEIGHT))
    ImageDraw.Draw(tile).text((4, 5), label, fill="black")
    return tile


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--images", nargs="+", default=list(DEFAULT_IMAGES))
    parser.add_argument("--output", type=Path, default=Path("docs/real_noise_contact_sheet.png"))
    args = parser.parse_args(argv)
    denoiser = load_denoiser(args.model, "cpu")
    rows: list[Image.Image] = []
    for name in args.images:
        path = data_root() / "test" / name
        image = read_image(path)
        top, left = busiest_crop(image.pixels, CROP)
        window = (slice(top, top + CROP), slice(left, left + CROP))
        result = denoiser.denoise(image.pixels, "auto")
        tiles = [
            to_tile(image.pixels[window], f"{name} noisy (100%)"),
            to_tile(result.pixels[window], f"{denoiser.name}, Auto: noise {result.sigma:.1f}"),
        ]
        if path.stem.endswith(REAL_SUFFIX):
            reference = path.with_name(path.stem[: -len(REAL_SUFFIX)] + REFERENCE_SUFFIX + path.suffix)
            tiles.append(to_tile(read_image(reference).pixels[window], "reference (mean of ~500 shots)"))
        row = Image.new("RGB", (sum(t.width + 4 for t in tiles), tiles[0].height), "white")
        for index, tile in enumerate(tiles):
            row.paste(tile, (index * (tile.width + 4), 0))
        rows.append(row)
        print(f"{name}: Auto level {result.sigma:.1f}, crop at ({left}, {top})")
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height + 4 for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height + 4
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
