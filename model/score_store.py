"""Image scores kept between runs of the benchmark, for methods that take hours.

CBM3D needs about 20 s per image and core; the full benchmark runs it 660
times. Its output depends only on the noisy input, which the protocol draws
from a fixed seed per image, so a score measured once on this machine stays
valid. The store lets an interrupted full run be started again with the same
command and pick up where it stopped; the report says how many scores came
from the store.

One JSON object per line, appended and flushed as each image finishes; a
line cut short by a killed run is skipped on reading and ended before new
lines go after it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from model.evaluate import NOISE_PROTOCOL, CleanImage, ImageScore


def score_key(method_key: str, set_name: str, image: CleanImage, sigma: float, protocol: str) -> str:
    """What a stored score depends on: method and version, the exact clean pixels, sigma, protocol, noise recipe."""
    pixels = hashlib.sha256(np.ascontiguousarray(image.clean).tobytes()).hexdigest()[:16]
    return f"{method_key}|{NOISE_PROTOCOL}|{set_name}/{image.index}:{image.name}:{pixels}|{sigma:g}|{protocol}"


class ScoreStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.scores: dict[str, ImageScore] = {}
        self._ends_cut_short = False
        if path.exists():
            text = path.read_text(encoding="utf-8")
            self._ends_cut_short = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                    key = record.pop("key")
                    self.scores[key] = ImageScore(**record)
                except (ValueError, TypeError, KeyError):
                    continue  # a line cut short when a run was killed

    def get(self, key: str) -> ImageScore | None:
        return self.scores.get(key)

    def put(self, key: str, score: ImageScore) -> None:
        self.scores[key] = score
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            if self._ends_cut_short:
                file.write("\n")
                self._ends_cut_short = False
            file.write(json.dumps({"key": key, **asdict(score)}) + "\n")
            file.flush()


def default_score_store() -> Path:
    import platformdirs

    from denoiser_app.core.models import APP_NAME

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "benchmark" / "scores.jsonl"
