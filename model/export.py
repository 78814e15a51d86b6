"""Export a trained network to the shipped TorchScript format."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from denoiser_app.core.modelfile import ModelFileError, load_model_file, quiet_torchscript, read_metadata, save_model_file
from model.archs import build
from model.noise import MAX_SIGMA


def flops_per_pixel(module: nn.Module, size: int = 256) -> float:
    """Floating-point operations per input pixel (a multiply-add counts as two)."""
    image = torch.rand(1, 3, size, size)
    noise_map = torch.full((1, 1, size, size), 0.1)
    inputs = (image,) if getattr(module, "role", "denoiser") == "estimator" else (image, noise_map)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(*inputs)
    return counter.get_total_flops() / (size * size)


def export(module: nn.Module, path: Path, architecture: str, arch_options: dict[str, Any], **metadata: Any) -> None:
    """Script ``module`` and write it to ``path`` with its metadata.

    The file is not frozen, so its weights can be read back for fine-tuning;
    the engine freezes it when it loads it.
    """
    module = module.cpu().eval()
    with quiet_torchscript():
        scripted = torch.jit.script(module)
    record = {
        "architecture": architecture,
        "arch_options": arch_options,
        "multiple": int(getattr(module, "multiple")),
        "takes_noise_map": bool(getattr(module, "takes_noise_map")),
        "role": str(getattr(module, "role", "denoiser")),
        "noise_range": [0.0, MAX_SIGMA],
        "parameters": sum(p.numel() for p in module.parameters()),
        "flops_per_pixel": round(flops_per_pixel(module)),
        **metadata,
    }
    init_from = (metadata.get("recipe") or {}).get("init_from")
    if init_from and "warm_start" not in record:
        record["warm_start"] = warm_start_record(Path(init_from))
    if init_from and "estimator" not in record:
        # A fine-tune keeps its base's noise labels, so the base's Auto estimator still fits it.
        estimator = _metadata_or_empty(Path(init_from)).get("estimator")
        if estimator:
            record["estimator"] = estimator
    save_model_file(scripted, path, record)


def update_metadata(path: Path, change: dict[str, Any]) -> None:
    """Merge ``change`` into an exported model's metadata, keeping its weights and the rest of its record."""
    replaced = {"format_version"} | ({"correlated_noise_gain"} if "correlated_noise" in change else set())  # its old key
    metadata = {k: v for k, v in read_metadata(path).items() if k not in replaced}
    scripted, _ = load_model_file(path)
    save_model_file(scripted, path, {**metadata, **change})


def _metadata_or_empty(path: Path) -> dict[str, Any]:
    try:
        return read_metadata(path)
    except (OSError, ModelFileError):
        return {}


def warm_start_record(init_from: Path) -> dict[str, Any]:
    """What a fine-tuned model started from: that model's name, steps and recipe, and so on back."""
    earlier = _metadata_or_empty(init_from)
    if not earlier:
        return {"file": init_from.name}
    kept = ("name", "steps", "recipe", "validation_psnr", "warm_start")
    return {"file": init_from.name, **{key: earlier[key] for key in kept if key in earlier}}


class TrainedNetwork(NamedTuple):
    network: nn.Module
    config: dict[str, Any]
    step: int
    scores: dict[str, float]


def network_from_checkpoint(checkpoint_path: Path, use_ema: bool = True) -> TrainedNetwork:
    """Rebuild a network from a training checkpoint, with the run's config, step and last validation."""
    state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    config = state["config"]
    network = build(config["arch"], **config["arch_options"])
    network.load_state_dict(state["params_ema" if use_ema else "params"])
    return TrainedNetwork(network, config, state["step"], state.get("scores", {}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Export a training checkpoint as a Denoiser model file, or change how an exported one is used "
        "(--update MODEL with --estimator, --correlated-noise-gain, --channel-correlation, --camera-model; "
        "the weights stay)."
    )
    parser.add_argument("checkpoint", type=Path, nargs="?")
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("--update", type=Path, metavar="MODEL", help="an exported model file to change in place")
    parser.add_argument("--name", default="")
    parser.add_argument("--description", default="")
    parser.add_argument("--results", type=Path, help="JSON file of results to embed")
    parser.add_argument(
        "--estimator",
        default="",
        help="bundled noise-level estimator that Auto uses with this model (one trained on the same labels)",
    )
    parser.add_argument(
        "--correlated-noise-gain",
        type=float,
        help="Auto's gain on correlated (real camera) noise, chosen with model.real_noise --calibrate",
    )
    parser.add_argument(
        "--channel-correlation",
        type=float,
        default=0.0,
        help="the channel correlation the colour transform undoes on correlated noise (model.real_noise --calibrate)",
    )
    parser.add_argument(
        "--camera-model",
        default="",
        help="bundled network that cleans the photos whose noise reads as a camera's (white noise stays with this one)",
    )
    args = parser.parse_args(argv)
    extra: dict[str, Any] = {"estimator": args.estimator} if args.estimator else {}
    if args.camera_model:
        extra["camera_model"] = args.camera_model
    if args.correlated_noise_gain or args.channel_correlation:
        extra["correlated_noise"] = {"gain": args.correlated_noise_gain or 1.0, "channel_correlation": args.channel_correlation}
    if args.update:
        update_metadata(args.update, extra)
        print(f"updated {args.update}: {json.dumps(extra)}")
        return
    if args.checkpoint is None or args.output is None:
        parser.error("give a checkpoint and an output file, or --update MODEL")
    network, config, step, scores = network_from_checkpoint(args.checkpoint)
    results = json.loads(args.results.read_text()) if args.results else {}
    export(
        network,
        args.output,
        config["arch"],
        config["arch_options"],
        name=args.name or config["arch"],
        description=args.description,
        recipe=config,
        training_data=config.get("train_dirs"),
        steps=step,
        validation_psnr=scores,
        results=results,
        **extra,
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
