"""A model's card, as markdown: its card file when it ships one, else what the file says about itself."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from denoiser_app.core.modelfile import ModelFileError, ModelInfo, read_metadata
from denoiser_app.core.models import DEFAULT_MODEL, resolve_model


def _psnr_text(scores: Any) -> str | None:
    if not isinstance(scores, dict) or not scores:
        return None
    return ", ".join(f"{name} {value:.2f} dB" for name, value in scores.items() if isinstance(value, (int, float))) or None


def model_card(model: str | None) -> str:
    """Markdown about ``model`` (a name or a .pt path): its card file beside it, else what the file says."""
    label = model or DEFAULT_MODEL
    try:
        path = resolve_model(model)
    except ModelFileError as error:
        return f"*{error}*"
    card = path.with_suffix(".md")
    if card.is_file():
        return card.read_text(encoding="utf-8")
    try:
        info = ModelInfo.from_metadata(read_metadata(path))
    except ModelFileError as error:  # read_metadata also checks the fields ModelInfo needs
        return f"*No card for {label}, and its file could not be read: {error}*"
    # The file's name is the user's name for it (a rename changes only that); the name inside is what it was made as.
    lines = [f"# {path.stem}", "", info.description or "*No description.*", ""]
    facts = {
        "Made as": info.name if info.name and info.name != path.stem else None,
        "Architecture": info.architecture,
        "Parameters": info.extra.get("parameters"),
        "Noise range (8-bit σ)": f"{info.noise_range[0]:g}–{info.noise_range[1]:g}",
        "Trained from": (info.extra.get("warm_start") or {}).get("file"),
        "Training photos": ", ".join(info.extra.get("training_data") or []) or None,
        "Training steps": info.extra.get("steps"),
        "Set-aside PSNR": _psnr_text(info.extra.get("validation_psnr")),
        "Saved": datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M"),
        "File": str(path),
    }
    lines += [f"- **{key}:** {value}" for key, value in facts.items() if value is not None]
    return "\n".join(lines)
