"""Resumable, time-budgeted training on clean images with synthetic noise.

    python -m model.train --run-dir RUN [--arch nm_unet] [--time-budget 3600]

A run directory holds ``config.json``, ``checkpoint.pt`` (weights, EMA weights,
optimiser and every random state) and ``train.log``. Running the same command
again resumes where the last one stopped; the schedule is fixed by
``--total-steps``, so how the work is split over sessions does not change the
result.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from denoiser_app.core.atomic import atomic_path
from denoiser_app.core.modelfile import load_model_file
from denoiser_app.core.noise_level import estimate_sigma_batch
from denoiser_app.core.progress import Progress, Stage
from model import data, synthetic
from model.archs import build
from model.archs.common import grow_into
from model.camera_noise import camera_batch
from model.noise import add_noise, camera, parse_mix
from model.noise_profile import NoiseProfile

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"  # beside the checkpoint: the best-measured averaged weights, for Stop to keep
LOG_NAME = "train.log"
STATE_NAME = "state.json"  # beside the checkpoint: where the run stands, for resuming without reading the log
# Dead-leaves images made at the start of a run with synthetic_share > 0.
SYNTHETIC_COUNT = 150
SYNTHETIC_SIZE = 512


@dataclass
class TrainConfig:
    """Everything that defines a training run. Saved with the run and in exported models."""

    arch: str = "nm_unet"
    arch_options: dict[str, Any] = field(default_factory=lambda: {"widths": [32, 64, 128, 256], "blocks": 2})
    train_dirs: list[str] = field(default_factory=list)
    noise_mix: str = "gaussian:0.5,poisson_gaussian:0.15,camera:0.35"
    total_steps: int = 80_000
    batch_size: int = 16
    patch_size: int = 128
    colour_augment: bool = True
    saturate_probability: float = 0.5
    max_saturation: float = 3.0
    hue_rotate: bool = True
    synthetic_share: float = 0.2
    zoom_probability: float = 0.3
    max_zoom: float = 2.0
    learning_rate: float = 4e-4
    min_learning_rate: float = 1e-6
    warmup_steps: int = 500
    ema_decay: float = 0.999
    loss: str = "l1"
    loss_weighting: str = "flat"
    bf16: bool = True
    channels_last: bool = True
    seed: int = 0
    validate_every: int = 1000
    init_from: str = ""
    noise_profile: dict[str, Any] = field(default_factory=dict)  # model.noise_profile.NoiseProfile, for "profile" noise

    def augmentation(self) -> data.Augmentation:
        return data.Augmentation(**{name: getattr(self, name) for name in AUGMENTATION_FIELDS})


AUGMENTATION_FIELDS = tuple(f.name for f in fields(data.Augmentation))
# Runs saved before a setting existed resume without it: no patch variation
# beyond crops, flips and rotations (data.Augmentation's defaults) and flat
# loss weighting.
BEFORE_IT_EXISTED: dict[str, Any] = {**asdict(data.Augmentation()), "loss_weighting": "flat", "noise_profile": {}}

# Below this level the weight stops growing: a near-clean patch needs no more
# emphasis than a lightly noisy one.
WEIGHTING_SIGMA_FLOOR = 5.0


def sample_weights(sigma: torch.Tensor, weighting: str) -> torch.Tensor:
    """Per-image loss weights, averaging 1 over the batch.

    "flat" weighs every image alike, so heavy noise, whose errors are largest,
    dominates the gradient. "inverse_sigma" divides each image's error by its
    noise level, so every noise level counts by its error relative to the
    noise, which is what PSNR at that level measures.
    """
    if weighting == "flat":
        return torch.ones_like(sigma)
    if weighting == "inverse_sigma":
        weights = 1.0 / (sigma.float() + WEIGHTING_SIGMA_FLOOR)
        return weights / weights.mean()
    raise ValueError(f"unknown loss weighting {weighting!r}; use flat or inverse_sigma")


def weighted_loss(denoised: torch.Tensor, clean: torch.Tensor, weights: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean over the batch of each image's L1 or squared error, times its weight."""
    error = (denoised - clean).abs() if loss == "l1" else (denoised - clean).square()
    return (error.mean(dim=(1, 2, 3)) * weights).mean()


class LearningSchedule(Protocol):
    learning_rate: float
    min_learning_rate: float
    warmup_steps: int
    total_steps: int


def learning_rate_at(step: int, config: LearningSchedule) -> float:
    """Linear warm-up, then cosine decay to ``min_learning_rate``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.min_learning_rate + (config.learning_rate - config.min_learning_rate) * cosine


# What RunLog writes at each validation: "step 3000 validation gauss25 29.468 camera 32.452".
_VALIDATION_LINE = re.compile(r"\bstep (\d+) validation ((?:\S+ -?[\d.]+(?: |$))+)")


def parse_validation(line: str) -> tuple[int, dict[str, float]] | None:
    """``(step, PSNR per noise case)`` from a training log line, if it is a validation line."""
    match = _VALIDATION_LINE.search(line)
    if match is None:
        return None
    words = match.group(2).split()
    return int(match.group(1)), {words[i]: float(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def psnr(denoised: torch.Tensor, clean: torch.Tensor) -> float:
    mse = F.mse_loss(denoised.clamp(0, 1), clean).item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def noise_map_like(image: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The model's noise-level input (sigma / 255): a constant plane per image, or the given (N, 1, H, W) map."""
    if sigma.dim() == 4:
        return (sigma / 255.0).contiguous()
    return (sigma / 255.0).view(-1, 1, 1, 1).expand(image.shape[0], 1, *image.shape[2:]).contiguous()


class Validator:
    """Fixed noisy crops of held-out images, scored the same way at every check."""

    def __init__(self, images: list[np.ndarray], crop: int = 256) -> None:
        clean = torch.stack(
            [torch.from_numpy(data.centre_crop(im, crop).copy()).permute(2, 0, 1).float() / 255 for im in images]
        )
        gen = torch.Generator().manual_seed(1234)
        self.clean = clean
        sigma = torch.full((len(images),), 25.0)
        camera_noisy, _ = camera(clean, gen, jpeg_probability=0.0)
        self.cases = {
            "gauss25": (clean + torch.randn(clean.shape, generator=gen) * 25 / 255, sigma),
            "camera": (camera_noisy, estimate_sigma_batch(camera_noisy)),
            # drawn last so the earlier cases' noise, and their logged scores, stay as they were
            "gauss15": (clean + torch.randn(clean.shape, generator=gen) * 15 / 255, torch.full((len(images),), 15.0)),
        }
        # The camera pipeline makes its own targets; scored against those.
        isp = camera_batch(clean, np.random.default_rng(4321))
        self.cases["isp"] = (isp.noisy, isp.level)
        self.targets = {"isp": isp.clean}

    @torch.inference_mode()
    def score(self, network: nn.Module) -> dict[str, float]:
        network.eval()
        scores = {}
        for name, (noisy, sigma) in self.cases.items():
            denoised = network(noisy, noise_map_like(noisy, sigma))
            targets = self.targets.get(name, self.clean)
            scores[name] = float(np.mean([psnr(d, c) for d, c in zip(denoised, targets)]))
        network.train()
        return scores


class RunLog:
    """Appends human-readable lines to the run's log file and echoes them."""

    def __init__(self, path: Path, echo: bool = True) -> None:
        self.path = path
        self.echo = echo

    def write(self, line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")
        if self.echo:
            print(stamped, flush=True)


def _load_training_images(config: TrainConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    train: list[np.ndarray] = []
    validation: list[np.ndarray] = []
    for folder in config.train_dirs:
        fit, held_out = data.split_training_files(Path(folder))
        train += [data.load_rgb8(p) for p in fit]
        validation += [data.load_rgb8(p) for p in held_out]
    return train, validation


def load_initial_weights(network: nn.Module, init_from: str) -> None:
    """Start from an exported model's weights (fine-tuning), grown first if ``network`` is wider."""
    scripted, _ = load_model_file(Path(init_from))
    weights = scripted.state_dict()
    own = network.state_dict()
    if all(weights[name].shape == tensor.shape for name, tensor in own.items()):
        network.load_state_dict(weights)
    else:
        grow_into(network, weights)


class StopReason(str, Enum):
    FINISHED = "finished"
    TIME_BUDGET = "time budget"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RunState:
    """Where a run stands, written beside each checkpoint (``state.json``)."""

    step: int
    total_steps: int
    stopped_by: StopReason | None  # None while it runs (or if it crashed)
    scores: dict[str, float]  # the last validation, PSNR per noise case
    scores_step: int | None
    base_scores: dict[str, float] = field(default_factory=dict)  # the starting model's, measured before step 1

    def write(self, run_dir: Path) -> None:
        record = {**asdict(self), "stopped_by": None if self.stopped_by is None else self.stopped_by.value}
        with atomic_path(run_dir / STATE_NAME) as temporary:
            temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")

    @classmethod
    def read(cls, run_dir: Path) -> RunState | None:
        try:
            record = json.loads((run_dir / STATE_NAME).read_text(encoding="utf-8"))
            stopped_by = record["stopped_by"]
            return cls(int(record["step"]), int(record["total_steps"]), None if stopped_by is None else StopReason(stopped_by),
                       {str(k): float(v) for k, v in record["scores"].items()}, record["scores_step"],
                       {str(k): float(v) for k, v in record.get("base_scores", {}).items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class TrainingResult:
    step: int
    stopped_by: StopReason
    scores: dict[str, float]  # the last validation; measured at the end too when a run stops between checks
    ema: nn.Module  # the averaged weights, the ones worth keeping
    config: TrainConfig
    best: BestSoFar | None = None  # the best-measured weights of the run, when they are not the last ones
    base_scores: dict[str, float] = field(default_factory=dict)  # the starting model's, on the same crops; empty from scratch


@dataclass
class BestSoFar:
    """The averaged weights at the validation with the highest mean PSNR so far, kept in ``best.pt``."""

    step: int
    scores: dict[str, float]
    weights: dict[str, torch.Tensor]

    def mean(self, cases: tuple[str, ...] = ()) -> float:
        return mean_score(self.scores, cases)


# The validation cases that measure each kind of training noise (the others show what the run costs elsewhere).
CASES_FOR_NOISE = {"gaussian": ("gauss25", "gauss15"), "isp": ("isp",), "camera": ("camera",)}


def cases_for_mix(noise_mix: str) -> tuple[str, ...]:
    """The validation cases for the noise a run trains on; none (meaning all) when no case measures it."""
    cases = [case for name in parse_mix(noise_mix) for case in CASES_FOR_NOISE.get(name, ())]
    return tuple(dict.fromkeys(cases))


def mean_score(scores: dict[str, float], cases: tuple[str, ...] = ()) -> float:
    """Mean PSNR over ``cases`` (every case when none, or when the scores have none of them)."""
    chosen = [scores[case] for case in cases if case in scores] or list(scores.values())
    return sum(chosen) / len(chosen) if chosen else float("-inf")


VALIDATION_STAGE = Stage.VALIDATION  # its progress updates carry the scores as ``data``


def train(
    config: TrainConfig,
    run_dir: Path,
    time_budget: float = float("inf"),
    checkpoint_seconds: float = 300.0,
    progress: Progress | None = None,
    echo: bool = True,
) -> TrainingResult:
    """Train (or resume) the run in ``run_dir`` until done, out of time, or cancelled.

    ``progress`` gets a ``train`` update per step and a ``validation`` update
    (its ``data`` the scores) per check. A run that stops for its time budget
    between checks is checked once more, so even a short run has a score.
    """
    progress = progress or Progress()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunLog(run_dir / LOG_NAME, echo)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    config_path = run_dir / "config.json"
    if checkpoint_path.exists():
        config = TrainConfig(**{**BEFORE_IT_EXISTED, **json.loads(config_path.read_text())})
    else:
        config_path.write_text(json.dumps(asdict(config), indent=1))

    torch.manual_seed(config.seed)
    network = build(config.arch, **config.arch_options)
    if config.init_from and not checkpoint_path.exists():
        load_initial_weights(network, config.init_from)
    # channels-last lets oneDNN use its fastest (AMX/AVX-512 bf16) convolutions
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    network = network.to(memory_format=memory_format)
    ema = copy.deepcopy(network).eval()
    for parameter in ema.parameters():
        parameter.requires_grad_(False)
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=0.0)
    rng = np.random.default_rng(config.seed)
    noise_gen = torch.Generator().manual_seed(config.seed)
    step = 0
    scores: dict[str, float] = {}
    scores_step: int | None = None
    base_scores: dict[str, float] = {}
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        network.load_state_dict(state["params"])
        ema.load_state_dict(state["params_ema"])
        optimiser.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng_numpy"]
        noise_gen.set_state(state["rng_torch"])
        step = state["step"]
        scores = state.get("scores", {})
        scores_step = state.get("scores_step")
        base_scores = state.get("base_scores", {})
        log.write(f"resumed at step {step}")
    best: BestSoFar | None = None
    if (run_dir / BEST_NAME).exists():
        record = torch.load(run_dir / BEST_NAME, map_location="cpu", weights_only=False)
        best = BestSoFar(record["step"], record["scores"], record["weights"])
    else:
        log.write(f"new run: {json.dumps(asdict(config))}")

    train_images, validation_images = _load_training_images(config)
    augmentation = config.augmentation()
    synthetic_images = (
        synthetic.dead_leaves_set(SYNTHETIC_COUNT, SYNTHETIC_SIZE, config.seed) if augmentation.synthetic_share else None
    )
    sampler = data.PatchSampler(train_images, config.patch_size, augmentation, synthetic_images)
    validator = Validator(validation_images) if validation_images else None
    mix = parse_mix(config.noise_mix)
    judged_on = cases_for_mix(config.noise_mix)  # "the best" is the best at the noise trained for
    profile = NoiseProfile.from_dict(config.noise_profile) if config.noise_profile else None
    if "profile" in mix and profile is None:
        raise ValueError("the noise mix names a camera profile, but the run has none (--noise-profile)")

    def checkpoint(stopped_by: StopReason | None = None) -> None:
        state = {
            "params": network.state_dict(),
            "params_ema": ema.state_dict(),
            "optimizer": optimiser.state_dict(),
            "rng_numpy": rng.bit_generator.state,
            "rng_torch": noise_gen.get_state(),
            "step": step,
            "scores": scores,
            "scores_step": scores_step,
            "base_scores": base_scores,
            "config": asdict(config),
        }
        with atomic_path(checkpoint_path) as temporary:
            torch.save(state, temporary)
        RunState(step, config.total_steps, stopped_by, scores, scores_step, base_scores).write(run_dir)

    def validate() -> None:
        nonlocal scores, scores_step, best
        scores, scores_step = validator.score(ema), step
        if best is None or mean_score(scores, judged_on) > best.mean(judged_on):
            best = BestSoFar(step, dict(scores), {k: v.detach().clone() for k, v in ema.state_dict().items()})
            with atomic_path(run_dir / BEST_NAME) as temporary:
                torch.save({"step": best.step, "scores": best.scores, "weights": best.weights}, temporary)
        log.write(f"step {step} validation " + " ".join(f"{k} {v:.3f}" for k, v in scores.items()))
        message = " ".join(f"{case} {value:.2f} dB" for case, value in scores.items())
        progress.report(VALIDATION_STAGE, step, config.total_steps, message, data=dict(scores))

    if validator and config.init_from and step == 0 and not base_scores:
        # The "before" of a fine-tune: the starting model on the very crops every later check uses.
        base_scores = validator.score(ema)
        log.write("base model validation " + " ".join(f"{k} {v:.3f}" for k, v in base_scores.items()))
    started = time.monotonic()
    last_checkpoint = started
    running_loss, steps_since_log = 0.0, 0
    network.train()
    stopped_by = StopReason.FINISHED
    while step < config.total_steps:
        if progress.is_cancelled:
            stopped_by = StopReason.CANCELLED
            break
        if time.monotonic() - started > time_budget:
            stopped_by = StopReason.TIME_BUDGET
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate_at(step, config)
        batch = add_noise(sampler.sample(config.batch_size, rng), noise_gen, mix, profile=profile)
        noisy = batch.noisy.contiguous(memory_format=memory_format)
        noise_map = noise_map_like(noisy, batch.level).contiguous(memory_format=memory_format)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            denoised = network(noisy, noise_map)
        weights = sample_weights(batch.level.mean(dim=(1, 2, 3)), config.loss_weighting)
        loss = weighted_loss(denoised.float(), batch.clean, weights, config.loss)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            for target, source in zip(ema.parameters(), network.parameters()):
                target.lerp_(source, 1 - config.ema_decay)
        step += 1
        running_loss += loss.item()
        steps_since_log += 1
        if step % 100 == 0:
            log.write(f"step {step} loss {running_loss / steps_since_log:.5f} lr {learning_rate_at(step, config):.2e}")
            running_loss, steps_since_log = 0.0, 0
        if validator and (step % config.validate_every == 0 or step == config.total_steps):
            validate()
        progress.report(Stage.TRAIN, step, config.total_steps, f"loss {loss.item():.4f}", data=float(loss.item()))
        if time.monotonic() - last_checkpoint > checkpoint_seconds:
            checkpoint()
            last_checkpoint = time.monotonic()
    if validator and stopped_by == StopReason.TIME_BUDGET and scores_step != step:
        validate()  # a short run still gets its one measurement
    checkpoint(stopped_by)
    log.write(f"stopped at step {step} ({stopped_by}) after {time.monotonic() - started:.0f}s")
    kept = best if best is not None and best.mean(judged_on) > mean_score(scores, judged_on) else None
    return TrainingResult(step, stopped_by, scores, ema, config, kept, base_scores)


def main(argv: list[str] | None = None) -> None:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--arch", default=defaults.arch)
    parser.add_argument("--arch-options", type=json.loads, default=defaults.arch_options)
    parser.add_argument("--train-dir", action="append", type=str, help="clean images (repeatable)")
    parser.add_argument("--noise-mix", default=defaults.noise_mix)
    parser.add_argument("--total-steps", type=int, default=defaults.total_steps)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--patch-size", type=int, default=defaults.patch_size)
    parser.add_argument("--no-colour-augment", dest="colour_augment", action="store_false")
    parser.add_argument("--saturate-probability", type=float, default=defaults.saturate_probability)
    parser.add_argument("--max-saturation", type=float, default=defaults.max_saturation)
    parser.add_argument("--no-hue-rotate", dest="hue_rotate", action="store_false", help="keep hues as they are")
    parser.add_argument(
        "--synthetic-share", type=float, default=defaults.synthetic_share, help="share of dead-leaves patches"
    )
    parser.add_argument("--zoom-probability", type=float, default=defaults.zoom_probability, help="share of enlarged patches")
    parser.add_argument("--max-zoom", type=float, default=defaults.max_zoom)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--loss", choices=["l1", "l2"], default=defaults.loss)
    parser.add_argument(
        "--loss-weighting",
        choices=["flat", "inverse_sigma"],
        default=defaults.loss_weighting,
        help="inverse_sigma weighs each image's error by 1 / (sigma + 5)",
    )
    parser.add_argument("--no-bf16", dest="bf16", action="store_false")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--init-from", default="", help="exported model to fine-tune")
    parser.add_argument("--noise-profile", type=Path, default=None,
                        help="JSON of a camera's noise profile (model.noise_profile), for 'profile' in the noise mix")
    parser.add_argument("--time-budget", type=float, default=float("inf"), help="seconds for this invocation")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        arch=args.arch,
        arch_options=args.arch_options,
        train_dirs=args.train_dir or [str(data.data_root() / data.TRAIN_SET)],
        noise_mix=args.noise_mix,
        noise_profile=json.loads(args.noise_profile.read_text()) if args.noise_profile else {},
        total_steps=args.total_steps,
        batch_size=args.batch_size,
        patch_size=args.patch_size,
        colour_augment=args.colour_augment,
        saturate_probability=args.saturate_probability,
        max_saturation=args.max_saturation,
        hue_rotate=args.hue_rotate,
        synthetic_share=args.synthetic_share,
        zoom_probability=args.zoom_probability,
        max_zoom=args.max_zoom,
        learning_rate=args.learning_rate,
        loss=args.loss,
        loss_weighting=args.loss_weighting,
        bf16=args.bf16,
        seed=args.seed,
        validate_every=args.validate_every,
        init_from=args.init_from,
    )
    train(config, args.run_dir, args.time_budget, args.checkpoint_minutes * 60)


if __name__ == "__main__":
    main()
