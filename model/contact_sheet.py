"""Contact sheet of real noisy photos: noisy | denoised crops at 100%, for looking at, not scoring.

    python -m model.contact_sheet [--model NAME|PATH] [--images Frog.png Dog.png ...] [--output docs/rni15_contact_sheet.png]
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

DEFAULT_IMAGES = ("Frog.png", "Dog.png", "Flowers.png", "Audrey_Hepburn.jpg")
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
    parser.add_argument("--output", type=Path, default=Path("docs/rni15_contact_sheet.png"))
    args = parser.parse_args(argv)
    denoiser = load_denoiser(args.model, "cpu")
    rows: list[Image.Image] = []
    for name in args.images:
        image = read_image(data_root() / "test" / "RNI15" / name)
        top, left = busiest_crop(image.pixels, CROP)
        crop = image.pixels[top : top + CROP, left : left + CROP]
        result = denoiser.denoise(image.pixels, "auto")
        clean = result.pixels[top : top + CROP, left : left + CROP]
        noisy_tile = to_tile(crop, f"{name} noisy (100%)")
        clean_tile = to_tile(clean, f"{denoiser.name}, auto: noise {result.sigma:.1f}")
        row = Image.new("RGB", (noisy_tile.width * 2 + 4, noisy_tile.height), "white")
        row.paste(noisy_tile, (0, 0))
        row.paste(clean_tile, (noisy_tile.width + 4, 0))
        rows.append(row)
        print(f"{name}: estimated noise {result.sigma:.1f}, crop at ({left}, {top})")
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
