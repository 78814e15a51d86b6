"""Which property of real noise costs our model its lead: an ablation on real pairs.

    python -m model.noise_cause [--set CC15] [--model nmunet-wide] [--output docs/experiments/noise-cause.md]

Each real pair's noise (noisy - mean) is kept, changed in one property, and
added back to the mean, so the scene, the noise's strength and its per-pixel
distribution stay those of the real shot:

- ``real``: the shot as it is;
- ``spatially white``: the noise's pixels shuffled inside each 8 x 8 block,
  the same shuffle for the three channels, which removes the correlation
  between neighbouring pixels but keeps the channel correlation and, at
  block scale, the dependence on brightness;
- ``white Gaussian``: independent Gaussian noise of the same standard
  deviation per image;
- ``channel-correlated Gaussian``: the same, but the three channels share a
  common part, so their correlation is the real noise's (measured per image);
- ``brightness-dependent Gaussian``: independent Gaussian noise whose standard
  deviation follows the real noise's local standard deviation (15 x 15 px).

Ours and FFDNet are each scored on a grid of strengths. If our model is ahead
on white noise and behind on the real shot, with the block shuffle closing the
gap, the cause is the spatial correlation of the noise, not the scene content,
the noise level or its colour.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model.evaluate import markdown_table
from model.real_noise import RealPair, load_real_set, score_grid

BLOCK = 8
GRID = (4.0, 6.0, 9.0, 12.0, 15.0, 19.0)


def block_shuffled_noise(noise: np.ndarray, rng: np.random.Generator, block: int = BLOCK) -> np.ndarray:
    """``noise`` (H x W x C) with its pixels permuted inside each block, all channels alike."""
    height, width, channels = noise.shape
    out = noise.copy()
    for top in range(0, height - height % block, block):
        for left in range(0, width - width % block, block):
            tile = out[top : top + block, left : left + block].reshape(-1, channels)
            out[top : top + block, left : left + block] = tile[rng.permutation(len(tile))].reshape(block, block, channels)
    return out


def _with_noise(pair: RealPair, noise: np.ndarray) -> RealPair:
    noisy = np.clip(np.rint(pair.reference.astype(np.float32) + noise), 0, 255).astype(np.uint8)
    return RealPair(pair.name, noisy, pair.reference)


def channel_correlated_gaussian(noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of ``noise``'s std whose channels correlate as ``noise``'s do on average."""
    flat = noise.reshape(-1, noise.shape[-1])
    corr = np.corrcoef(flat.T)
    share = float(np.clip(np.nan_to_num(corr[np.triu_indices(3, 1)].mean()), 0.0, 0.99))  # flat noise: no correlation
    common = rng.normal(0.0, 1.0, noise.shape[:2] + (1,))
    own = rng.normal(0.0, 1.0, noise.shape)
    return ((np.sqrt(share) * common + np.sqrt(1 - share) * own) * flat.std()).astype(np.float32)


def brightness_dependent_gaussian(noise: np.ndarray, rng: np.random.Generator, window: int = 15) -> np.ndarray:
    """White Gaussian noise whose local std is ``noise``'s, per pixel and channel."""
    import cv2

    local_std = np.sqrt(np.maximum(cv2.blur(noise.astype(np.float32) ** 2, (window, window)), 0.0))
    return (rng.normal(0.0, 1.0, noise.shape) * local_std).astype(np.float32)


CONDITIONS = {
    "real": None,
    "spatially white (8x8 block shuffle)": block_shuffled_noise,
    "white Gaussian, same std": lambda n, rng: rng.normal(0.0, float(n.std()), n.shape).astype(np.float32),
    "channel-correlated Gaussian": channel_correlated_gaussian,
    "brightness-dependent Gaussian": brightness_dependent_gaussian,
}


def variants(pairs: list[RealPair], conditions: list[str], seed: int = 0) -> dict[str, list[RealPair]]:
    rng = np.random.default_rng(seed)
    noises = [pair.noisy.astype(np.float32) - pair.reference.astype(np.float32) for pair in pairs]
    out = {}
    for condition in conditions:
        make = CONDITIONS[condition]
        out[condition] = pairs if make is None else [_with_noise(p, make(n, rng)) for p, n in zip(pairs, noises)]
    return out


def method_functions(models: list[str]) -> dict[str, Callable[[np.ndarray, float], np.ndarray]]:
    from denoiser_app.core.engine import load_denoiser
    from model.ffdnet import FFDNetDenoiser

    functions: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {}
    for name in models:
        denoiser = load_denoiser(name, device="cpu", precision="fp32", passes=1)
        functions[f"ours: {name}"] = lambda image, s, d=denoiser: d.denoise(image, s).pixels
    functions["FFDNet colour"] = FFDNetDenoiser()
    return functions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="CC15")
    parser.add_argument("--model", nargs="+", default=["nmunet-wide"])
    parser.add_argument("--limit", type=int, default=None, help="first N pairs only")
    parser.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=list(CONDITIONS))
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)

    methods = method_functions(args.model)
    rows = []
    for condition, pairs in variants(load_real_set(args.set, limit=args.limit), args.conditions).items():
        scores = {name: score_grid(fn, pairs, GRID) for name, fn in methods.items()}
        ffdnet = scores.pop("FFDNet colour")
        for name, grid in scores.items():
            rows.append([condition, name, f"{grid.best_fixed:.2f} ({grid.best_fixed_strength:g})",
                         f"{ffdnet.best_fixed:.2f} ({ffdnet.best_fixed_strength:g})",
                         f"{grid.best_fixed - ffdnet.best_fixed:+.2f}"])
            print(rows[-1], flush=True)
    table = markdown_table(["noise", "model", "ours, best fixed (strength)", "FFDNet, best fixed (sigma)", "ours - FFDNet"], rows)
    print(table)
    if args.output:
        args.output.write_text(f"# Noise ablation on {args.set}\n\nCommand: `python -m model.noise_cause --set {args.set} "
                               f"--model {' '.join(args.model)}`; one pass, float32.\n\n{table}\n")


if __name__ == "__main__":
    main()
