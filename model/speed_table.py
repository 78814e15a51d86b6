"""Speed of every bundled model on this machine, beside FFDNet and the machine's own matrix-multiply rate.

    python -m model.speed_table [--megapixels 12] [--models nmunet-wide nmunet-base] [--output docs/speed.md]

For each model and each precision this CPU runs (float32 always; bfloat16
where the CPU has bf16 instructions), in one process, taking turns:

- **end to end**: megapixels per second on a noisy JPEG of ``--megapixels``
  through the batch pipeline as the CLI runs it (read, Auto, denoise tiled,
  write), with the default passes and with one pass;
- **network only**: megapixels per second of one forward pass on a 512 x 512
  tile, the model's FLOPs per pixel, the FLOP/s that makes, and its share of
  this machine's float32 (or bfloat16) 2048 x 2048 matrix-multiply rate (the
  roofline share);
- **FFDNet colour** (2017; 12 layers of 96 channels at half resolution) on
  the same tile and precision, the peer to be faster than;
- **a batch**: ``--batch-photos`` JPEGs of 2 MP through the batch pipeline with
  the default settings, its wall time against the sum of its denoise calls
  (reading the next photo and writing the last overlap the denoising).

Every figure names the CPU, the threads and the precision; comparisons are
ratios within this one run, since the machine may be shared.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from denoiser_app.core.engine import DEFAULT_PASSES, _cpu_has_bf16_instructions, load_denoiser
from denoiser_app.core.hardware import describe_compute
from model.ffdnet import FFDNet
from model.photo_speed import make_noisy_photo, photo_size, time_photo

TILE = 512
NETWORK_ROUNDS = 5
MATMUL_SIDE = 2048
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _median_seconds(call, rounds: int) -> float:
    call()  # first call: kernels chosen, caches warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def matmul_flops(dtype: torch.dtype) -> float:
    """This machine's FLOP/s on a 2048 x 2048 matrix multiply in ``dtype``: the roofline a convolution could reach."""
    a = torch.randn(MATMUL_SIDE, MATMUL_SIDE).to(dtype)
    b = torch.randn(MATMUL_SIDE, MATMUL_SIDE).to(dtype)
    return 2 * MATMUL_SIDE**3 / _median_seconds(lambda: a @ b, NETWORK_ROUNDS)


@dataclass(frozen=True)
class NetworkSpeed:
    megapixels_per_second: float
    flops_per_pixel: float

    @property
    def flops(self) -> float:
        return self.megapixels_per_second * 1e6 * self.flops_per_pixel


def ours_network_speed(model: str, precision: str) -> NetworkSpeed:
    """One forward pass of the engine's own (frozen, channels-last) network on a tile, without the engine around it."""
    denoiser = load_denoiser(model, "cpu", precision=precision, passes=1)
    tile = torch.rand(1, 3, TILE, TILE).contiguous(memory_format=torch.channels_last)
    noise_map = torch.full((1, 1, TILE, TILE), 15 / 255)
    with torch.inference_mode():
        seconds = _median_seconds(lambda: denoiser.module(tile, noise_map), NETWORK_ROUNDS)
    return NetworkSpeed(TILE * TILE / 1e6 / seconds, float(denoiser.info.extra.get("flops_per_pixel", 0.0)))


def ffdnet_network_speed(precision: str) -> NetworkSpeed:
    """FFDNet colour's architecture (random weights time the same) on the same tile, in the same precision."""
    dtype = PRECISIONS[precision]
    network = FFDNet().eval().to(dtype).to(memory_format=torch.channels_last)
    tile = torch.rand(1, 3, TILE, TILE).to(dtype).contiguous(memory_format=torch.channels_last)
    sigma = torch.tensor([15 / 255]).to(dtype)
    with torch.inference_mode():
        seconds = _median_seconds(lambda: network(tile, sigma), NETWORK_ROUNDS)
    return NetworkSpeed(TILE * TILE / 1e6 / seconds, FFDNet.flops_per_pixel())


def end_to_end(model: str, precision: str, passes: int, photo: Path) -> float:
    """Megapixels per second of a whole photo through the batch pipeline, the slower of two rounds."""
    return time_photo(load_denoiser(model, "cpu", precision=precision, passes=passes), photo).slowest_megapixels_per_second


BATCH_PHOTO_MEGAPIXELS = 2.0


def batch_overlap(folder: Path, photos: int) -> tuple[float, float]:
    """(wall seconds, seconds inside the denoise calls) for a batch of ``photos`` noisy JPEGs, default settings."""
    from denoiser_app.core.batch import BatchOptions, plan_batch, run_batch

    inputs = folder / "batch"
    inputs.mkdir()
    for seed in range(photos):
        make_noisy_photo(inputs / f"photo_{seed:02d}.jpg", *photo_size(BATCH_PHOTO_MEGAPIXELS), seed)
    denoiser = load_denoiser()
    inference = 0.0
    denoise = denoiser.denoise

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal inference
        started = time.perf_counter()
        try:
            return denoise(*args, **kwargs)
        finally:
            inference += time.perf_counter() - started

    denoiser.denoise = timed  # type: ignore[method-assign]
    options = BatchOptions(output_dir=folder / "batch-clean", overwrite=True)
    started = time.perf_counter()
    results = list(run_batch(plan_batch([inputs], options), denoiser, options))
    wall = time.perf_counter() - started
    if any(result.status != "done" for result in results):
        raise RuntimeError("a batch photo was not cleaned")
    return wall, inference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--models", nargs="+", default=["nmunet-wide", "nmunet-base"])
    parser.add_argument("--batch-photos", type=int, default=8, help="photos in the batch-overlap run (0: none)")
    parser.add_argument("--batch-only", action="store_true", help="only the batch-overlap run")
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    if args.batch_only:
        with tempfile.TemporaryDirectory() as folder:
            print(_batch_line(*batch_overlap(Path(folder), args.batch_photos), args.batch_photos))
        return
    precisions = ["fp32", "bf16"] if _cpu_has_bf16_instructions() else ["fp32"]
    rates = {precision: matmul_flops(PRECISIONS[precision]) for precision in precisions}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        photo = make_noisy_photo(Path(folder) / "photo.jpg", *photo_size(args.megapixels))
        overlap = batch_overlap(Path(folder), args.batch_photos) if args.batch_photos else None
        for precision in precisions:
            peer = ffdnet_network_speed(precision)
            rows.append(("FFDNet colour (architecture)", precision, None, None, peer, rates[precision], peer))
            for model in args.models:
                network = ours_network_speed(model, precision)
                default = end_to_end(model, precision, DEFAULT_PASSES, photo)
                single = end_to_end(model, precision, 1, photo)
                rows.append((model, precision, default, single, network, rates[precision], peer))
    denoiser = load_denoiser(args.models[0], "cpu")
    lines = [
        "# Speed",
        "",
        f"Command: `python -m model.speed_table --megapixels {args.megapixels:g}`  ",
        f"Machine: {describe_compute(denoiser.device, denoiser.dtype)} (the precision `auto` picks here), "
        f"torch {torch.__version__}. Measured float32 matrix multiply ({MATMUL_SIDE}²): {rates['fp32'] / 1e9:.0f} GFLOP/s"
        + (f"; bfloat16: {rates['bf16'] / 1e9:.0f} GFLOP/s." if "bf16" in rates else "."),
        f"End to end: a {args.megapixels:g} MP noisy JPEG through the batch pipeline (read, Auto, denoise in "
        f"{TILE} px tiles, write), the slower of two rounds. Network only: one forward pass on a {TILE}² tile, "
        f"median of {NETWORK_ROUNDS}. One process, the models taking turns.",
        "",
        f"| model | precision | end to end, {DEFAULT_PASSES} passes (MP/s) | end to end, 1 pass (MP/s) | network (MP/s) "
        "| FLOPs per pixel (k) | achieved GFLOP/s | share of the matrix-multiply rate | network speed ÷ FFDNet's |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, precision, default, single, network, rate, peer in rows:
        ends = [f"{value:.2f}" if value is not None else "–" for value in (default, single)]
        lines.append(
            f"| {model} | {precision} | {ends[0]} | {ends[1]} | {network.megapixels_per_second:.2f} | "
            f"{network.flops_per_pixel / 1e3:.0f} | {network.flops / 1e9:.0f} | {network.flops / rate:.0%} | "
            f"{network.megapixels_per_second / peer.megapixels_per_second:.2f}x |"
        )
    if overlap is not None:
        lines += ["", _batch_line(*overlap, args.batch_photos)]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.output:
        args.output.write_text(table, encoding="utf-8")


def _batch_line(wall: float, inference: float, photos: int) -> str:
    return (f"A batch of {photos} JPEGs of {BATCH_PHOTO_MEGAPIXELS:g} MP, default settings: {wall:.1f} s wall time, "
            f"{inference:.1f} s inside the denoise calls ({wall / inference:.2f}x): reading and writing "
            "add the rest, the next photo read while this one is cleaned.")


if __name__ == "__main__":
    main()
