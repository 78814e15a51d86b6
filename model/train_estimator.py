"""Train the noise-level estimator behind Auto strength, on the same synthetic noise as the denoisers.

    python -m model.train_estimator --run-dir RUN [--total-steps 4000] [--time-budget 1800]
    python -m model.train_estimator --run-dir RUN --export resources/models/noise-level.pt

Each patch gets noise from the training mix (Gaussian, Poisson-Gaussian and
the camera pipeline) and the estimator learns to predict the noise-level map
that :func:`model.noise.add_noise` labels it with, which is what the denoisers
are conditioned on. Under-estimating costs more than over-estimating
(``UNDER_WEIGHT``): a reading that is too low leaves noise in the photo, which
is what Auto used to do on real photos; one that is a little high only
smooths a little more. A share of patches stays clean, so a clean photo reads
near zero.

A run resumes from ``RUN/checkpoint.pt``; ``--init-from`` warm-starts a new
run from an exported estimator.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from denoiser_app.core.atomic import atomic_path
from denoiser_app.core.modelfile import load_model_file
from model import data, synthetic
from model.archs import build
from model.noise import add_noise, parse_mix, quantise
from model.train import CHECKPOINT_NAME, LOG_NAME, SYNTHETIC_COUNT, SYNTHETIC_SIZE, RunLog, learning_rate_at

UNDER_WEIGHT = 0.75


@dataclass
class EstimatorConfig:
    arch_options: dict
    train_dirs: list[str]
    noise_mix: str = "gaussian:0.4,poisson_gaussian:0.1,isp:0.5"
    clean_share: float = 0.05
    synthetic_share: float = 0.2  # dead-leaves patches, as in the denoisers' recipe
    total_steps: int = 4000
    batch_size: int = 16
    patch_size: int = 128
    learning_rate: float = 5e-4
    min_learning_rate: float = 1e-5
    warmup_steps: int = 200
    seed: int = 0
    init_from: str = ""


def asymmetric_l1(predicted: torch.Tensor, target: torch.Tensor, under_weight: float = UNDER_WEIGHT) -> torch.Tensor:
    """Mean absolute error in which reading too low weighs ``under_weight`` and too high the rest."""
    error = predicted - target
    return torch.where(error < 0, under_weight * -error, (1 - under_weight) * error).mean()


def noisy_batch(
    clean: torch.Tensor, gen: torch.Generator, mix: dict[str, float], clean_share: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy patches and their level maps (8-bit units); a ``clean_share`` of them without noise, labelled 0."""
    batch = add_noise(clean, gen, mix)
    noisy, level = batch.noisy, batch.level
    keep_clean = torch.rand(len(clean), generator=gen) < clean_share
    noisy[keep_clean] = quantise(clean[keep_clean])
    level[keep_clean] = 0.0
    return noisy, level


def train_estimator(config: EstimatorConfig, run_dir: Path, time_budget: float = float("inf"), echo: bool = True) -> int:
    """Train or resume; returns the step reached."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunLog(run_dir / LOG_NAME, echo)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    torch.manual_seed(config.seed)
    network = build("noise_estimator", **config.arch_options)
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=0.0)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    step = 0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        config = EstimatorConfig(**state["config"])
        network.load_state_dict(state["params"])
        optimiser.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng_numpy"]
        gen.set_state(state["rng_torch"])
        step = state["step"]
        log.write(f"resumed at step {step}")
    else:
        if config.init_from:
            network.load_state_dict(load_model_file(Path(config.init_from))[0].state_dict())
        log.write(f"new estimator run: {json.dumps(asdict(config))}")
    images: list[np.ndarray] = []
    for folder in config.train_dirs:
        images += [data.load_rgb8(path) for path in data.split_training_files(Path(folder))[0]]
    augmentation = data.Augmentation(
        colour_augment=True, hue_rotate=True, synthetic_share=config.synthetic_share, zoom_probability=0.3
    )
    dead_leaves = synthetic.dead_leaves_set(SYNTHETIC_COUNT, SYNTHETIC_SIZE, config.seed) if config.synthetic_share else None
    sampler = data.PatchSampler(images, config.patch_size, augmentation, dead_leaves)
    mix = parse_mix(config.noise_mix)

    def checkpoint() -> None:
        state = {
            "params": network.state_dict(),
            "optimizer": optimiser.state_dict(),
            "rng_numpy": rng.bit_generator.state,
            "rng_torch": gen.get_state(),
            "step": step,
            "config": asdict(config),
        }
        with atomic_path(checkpoint_path) as temporary:
            torch.save(state, temporary)

    started = last_checkpoint = time.monotonic()
    running = 0.0
    while step < config.total_steps and time.monotonic() - started < time_budget:
        for group in optimiser.param_groups:
            group["lr"] = learning_rate_at(step, config)
        noisy, level = noisy_batch(sampler.sample(config.batch_size, rng), gen, mix, config.clean_share)
        loss = asymmetric_l1(network(noisy) * 255.0, level)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        running += loss.item()
        if step % 100 == 0:
            log.write(f"step {step} loss {running / 100:.4f}")
            running = 0.0
        if time.monotonic() - last_checkpoint > 240:
            checkpoint()
            last_checkpoint = time.monotonic()
    checkpoint()
    log.write(f"stopped at step {step} after {time.monotonic() - started:.0f}s")
    return step


def export_estimator(run_dir: Path, output: Path, name: str = "noise-level") -> None:
    """Write the run's estimator as a model file (role "estimator") that denoisers can name for Auto."""
    from model.export import export

    state = torch.load(run_dir / CHECKPOINT_NAME, map_location="cpu", weights_only=False)
    config = EstimatorConfig(**state["config"])
    network = build("noise_estimator", **config.arch_options)
    network.load_state_dict(state["params"])
    export(
        network,
        output,
        "noise_estimator",
        config.arch_options,
        name=name,
        description="Reads the local noise level of a photo for Auto strength (8-bit sigma units).",
        recipe=asdict(config),
        steps=state["step"],
        labels="model.noise.add_noise levels: Gaussian sigma, isp local std (model.camera_noise.local_noise_level)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--arch-options", type=json.loads, default={})
    parser.add_argument("--train-dir", action="append")
    parser.add_argument("--noise-mix", default=EstimatorConfig.noise_mix)
    parser.add_argument("--total-steps", type=int, default=EstimatorConfig.total_steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", default="")
    parser.add_argument("--time-budget", type=float, default=float("inf"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--export", type=Path, help="write the run's estimator to this model file and stop")
    args = parser.parse_args(argv)
    if args.export:
        export_estimator(args.run_dir, args.export)
        print(f"wrote {args.export}")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    config = EstimatorConfig(
        arch_options=args.arch_options,
        train_dirs=args.train_dir or [str(data.data_root() / data.TRAIN_SET)],
        noise_mix=args.noise_mix,
        total_steps=args.total_steps,
        seed=args.seed,
        init_from=args.init_from,
    )
    train_estimator(config, args.run_dir, args.time_budget)


if __name__ == "__main__":
    main()
