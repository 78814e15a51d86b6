"""Running a method over every set, sigma and protocol, with stored scores reused, and progress on stderr."""
from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field


from model.evaluate import ImageScore, CleanImage, cell_label, evaluate_cell, mean, score_image, warm_up
from model.score_store import ScoreStore, score_key
from model.benchmark.methods import Method


PROGRESS_INTERVAL_SECONDS = 10.0


@dataclass
class MethodRun:
    method: Method
    scores: dict[tuple[str, str, float], list[ImageScore]] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0
    reused: int = 0  # image scores taken from the score store
    scored: int = 0
    timing_images: int = 0  # images denoised only to time a method whose scores were all stored


class Console:
    """Progress lines on stderr, stamped with the time elapsed since the run began."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last_line = self.started

    def say(self, text: str) -> None:
        now = time.perf_counter()
        elapsed = datetime.timedelta(seconds=round(now - self.started))
        print(f"[{elapsed}] {text}", file=sys.stderr, flush=True)
        self.last_line = now

    def image_done(self, where: str, done: int, total: int, score: ImageScore) -> None:
        """A line per image only when the last line is a while ago (slow methods)."""
        if time.perf_counter() - self.last_line >= PROGRESS_INTERVAL_SECONDS:
            self.say(f"{where}: image {done}/{total} ({score.name}) {score.psnr:.2f} dB in {score.seconds:.1f} s")


def score_cell(
    method: Method,
    set_name: str,
    images: Sequence[CleanImage],
    sigma: float,
    protocol: str,
    progress: Console,
    pool: Executor | None,
    store: ScoreStore | None,
) -> tuple[list[ImageScore], list[ImageScore]]:
    """Every image's score in one cell, in image order, and those of them computed now (not stored)."""
    where = f"{method.key} {protocol} {cell_label(set_name, sigma)}"
    keys = {
        image.name: score_key(method.store_key, set_name, image, sigma, protocol) for image in images
    } if store and method.store_key else {}
    kept = {name: found for name, key in keys.items() if (found := store.get(key))}
    done = iter(range(len(kept) + 1, len(images) + 1))

    def on_image(score: ImageScore) -> None:
        if keys:
            store.put(keys[score.name], score)
        progress.image_done(where, next(done), len(images), score)

    fresh = evaluate_cell(
        method.denoise, [image for image in images if image.name not in kept], sigma, protocol,
        on_image=on_image, pool=pool if method.parallel else None,
    )
    by_name = {**kept, **{score.name: score for score in fresh}}
    return [by_name[image.name] for image in images], fresh


def run_method(
    method: Method,
    test_sets: dict[str, list[CleanImage]],
    sigmas: Sequence[float],
    protocols: Sequence[str],
    progress: Console,
    pool: Executor | None = None,
    store: ScoreStore | None = None,
) -> MethodRun:
    """Run one method over every set, sigma and protocol; each noisy image is denoised once.

    ``pool`` spreads the images of a ``parallel`` method over processes; its
    speed is then still the time of each call, so megapixels per second are
    per process, on cores the processes share. Methods with a ``store_key`` take the scores
    ``store`` already holds and add the ones they compute.
    """
    run = MethodRun(method)
    if method.needs_warm_up:
        warm_up(method.denoise, (image for images in test_sets.values() for image in images))
    # An 8-bit-only method sees identical input under both protocols.
    computed = ["8bit"] if method.uint8_input else list(protocols)
    for protocol in computed:
        for set_name, images in test_sets.items():
            for sigma in sigmas:
                where = f"{method.key} {protocol} {cell_label(set_name, sigma)}"
                scores, fresh = score_cell(method, set_name, images, sigma, protocol, progress, pool, store)
                kept = len(scores) - len(fresh)
                run.reused += kept
                run.scored += len(scores)
                for scored_protocol in protocols if method.uint8_input else [protocol]:
                    run.scores[scored_protocol, set_name, sigma] = scores
                # Stored timings may come from a busier machine; speed counts this run's calls only.
                run.seconds += sum(s.seconds for s in fresh)
                run.megapixels += sum(s.megapixels for s in fresh)
                progress.say(
                    f"{where}: {mean(s.psnr for s in scores):.2f} dB, SSIM {mean(s.ssim for s in scores):.4f}, "
                    f"{len(scores)} images ({kept} from the store), "
                    f"{sum(s.seconds for s in scores) / len(scores):.2f} s/image"
                )
    if run.scored and not run.megapixels:
        # Every score came from the store: time one image per set so the speed is this run's.
        for images in test_sets.values():
            timing = score_image(method.denoise, images[0], sigmas[0], computed[0])
            run.seconds += timing.seconds
            run.megapixels += timing.megapixels
            run.timing_images += 1
    return run


