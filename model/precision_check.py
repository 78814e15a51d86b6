"""Does bfloat16 keep the quality of float32 on this CPU, and how much faster is it? Measured in one run.

    python -m model.precision_check [--model NAME] [--images 6] [--output FILE.md]

For each precision this CPU can run (float32 always; bfloat16 too), the
model denoises the first ``--images`` images of Kodak24 at sigma 15, 25 and
50 (float protocol, known sigma) and of CC15 and Nam25 (Auto), through the
engine as the app runs it. The precisions take turns image by image, so a
busy machine slows both alike and the speed ratio stays fair. The engine's
``auto`` precision picks bfloat16 only on CPUs where this check passes: PSNR
within 0.02 dB of float32 on every set.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.hardware import cpu_features, cpu_name
from model.evaluate import load_test_set, markdown_table, noisy_version, score
from model.real_noise import load_real_set, score_output

PRECISIONS = ("fp32", "bf16")
GAUSSIAN_SIGMAS = (15.0, 25.0, 50.0)
TOLERANCE_DB = 0.02


def cases(images: int) -> list[tuple[str, np.ndarray, object]]:
    """(set label, noisy float32 image, how to score it) for every image of the check."""
    out: list[tuple[str, np.ndarray, object]] = []
    for image in load_test_set("Kodak24", limit=images):
        for sigma in GAUSSIAN_SIGMAS:
            noisy = noisy_version(image.clean, image.index, sigma, "float")
            out.append((f"Kodak24 σ{sigma:g}", noisy, (sigma, image.clean)))
    for set_name in ("CC15", "Nam25"):
        for pair in load_real_set(set_name, limit=images):
            out.append((f"{set_name} Auto", pair.noisy_float, ("auto", pair)))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model name or file (default: the default model)")
    parser.add_argument("--images", type=int, default=6, help="images per set")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)

    denoisers = {p: load_denoiser(args.model, device="cpu", precision=p) for p in PRECISIONS}
    psnr: dict[tuple[str, str], list[float]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    for label, noisy, (strength, reference) in cases(args.images):
        for precision, denoiser in denoisers.items():
            start = time.perf_counter()
            pixels = denoiser.denoise(noisy, strength).pixels
            seconds[precision] += time.perf_counter() - start
            value = score(pixels, reference) if isinstance(strength, float) else score_output(pixels, reference)
            psnr[(label, precision)].append(value)
    labels = list(dict.fromkeys(label for label, _ in psnr))
    rows, worst = [], 0.0
    for label in labels:
        fp32, bf16 = (float(np.mean(psnr[(label, p)])) for p in PRECISIONS)
        worst = max(worst, abs(bf16 - fp32))
        rows.append([label, f"{fp32:.3f}", f"{bf16:.3f}", f"{bf16 - fp32:+.3f}"])
    speed = seconds["fp32"] / seconds["bf16"]
    machine = f"{cpu_name()} ({', '.join(cpu_features()) or 'no listed features'})"
    name = denoisers["fp32"].name
    table = markdown_table(["set", "float32 PSNR", "bfloat16 PSNR", "bf16 − fp32"], rows)
    verdict = "within" if worst <= TOLERANCE_DB else "NOT within"
    text = (
        f"# bfloat16 against float32: {name}\n\n"
        f"Command: `python -m model.precision_check --images {args.images}`  \n"
        f"Machine: {machine}; engine defaults (passes, tiles), {args.images} images per set.\n\n"
        f"{table}\n\n"
        f"Largest difference {worst:.3f} dB: {verdict} {TOLERANCE_DB} dB. "
        f"Speed in the same run, precisions taking turns: bfloat16 {speed:.2f}× float32 "
        f"({seconds['fp32']:.1f} s against {seconds['bf16']:.1f} s).\n"
    )
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
