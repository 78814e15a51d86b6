"""The benchmark report as markdown, rebuilt from its JSON record alone."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


from model.evaluate import cell_label, format_db, markdown_table
from model.targets import Check, aim_checks, lookup, must_checks
from model.benchmark.records import sigma_key


PROTOCOL_TITLES = {"float": "float protocol (as in the papers)", "8bit": "8-bit protocol (as the app receives files)"}


def _grid_columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s, sigma_key(sigma)) for s in report["sets"] for sigma in report["sigmas"]]


def _header(report: dict[str, Any], first: str) -> list[str]:
    return [first] + [cell_label(s, float(k)) for s, k in _grid_columns(report)]


def metric_rows(report: dict[str, Any], protocol: str, metric: str, digits: int) -> list[list[str]]:
    """One row per method run: the set-mean of ``metric`` per set and sigma."""
    rows = []
    for method in report["methods"]:
        by_set = lookup(report["results"], method["key"], protocol) or {}
        cells = [format_db(lookup(by_set, s, k, metric), digits) for s, k in _grid_columns(report)]
        rows.append([method["label"], *cells])
    return rows


def paper_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for method, by_set in report["paper_reference"].items():
        cells = [format_db(lookup(by_set, s, k)) for s, k in _grid_columns(report)]
        rows.append([f"{method} — paper (reference, not run here)", *cells])
    return rows


def format_speed(megapixels_per_second: float | None) -> str:
    """Three significant digits: CBM3D and our models differ by orders of magnitude."""
    return "–" if megapixels_per_second is None else f"{megapixels_per_second:.3g}"


def speed_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for method in report["methods"]:
        speed = method["speed"]
        rows.append([
            method["label"],
            f"{speed['megapixels']:.2f}",
            f"{speed['seconds']:.1f}",
            format_speed(speed["megapixels_per_second"]),
        ])
    return rows


def auto_strength_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for protocol in report["protocols"]:
        for metric, title, digits in (
            ("psnr_loss_db", "PSNR lost (dB)", 2),
            ("sigma_mae", "σ estimate MAE", 2),
            ("sigma_bias", "σ estimate bias", 2),
        ):
            by_set = lookup(report["auto_strength"], protocol)
            if by_set is None:
                continue
            cells = [format_db(lookup(by_set, s, k, metric), digits) for s, k in _grid_columns(report)]
            rows.append([f"{title}, {protocol}", *cells])
    return rows


def nlm_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for sigma, tuned in report["nlm"]["tuned"].items():
        edge = " (grid edge)" if tuned["on_grid_edge"] else ""
        rows.append([sigma, f"{tuned['h']:g}{edge}", f"{tuned['h']:g}", format_db(tuned["psnr"])])
    return rows


BUSY_CORES = 0.25  # other processes' average CPU share above which speed figures are flagged


def busy_machine_notes(report: dict[str, Any]) -> list[str]:
    """Warnings when other processes competed for the CPU: before the run, during it, or while a photo was timed.

    The load average at the end is not used: the run's own CBM3D workers raise it.
    """
    machine = report["machine"]
    cores = machine.get("cores") or 1
    notes = []
    start = machine.get("load_average_start")
    if start and start[0] > cores - 0.5:
        notes.append(
            f"the 1-minute load average was {start[0]:.2f} on {cores} cores when the run started, so other "
            "processes competed for the CPU; speed figures (multi-threaded ones most of all) may be too low."
        )
    others = machine.get("other_processes_cores")
    if others is not None and others > BUSY_CORES:
        notes.append(
            f"other processes kept {others:.2f} of {cores} cores busy on average during the run; "
            "speed figures may be too low."
        )
    for key, speed in report.get("photo_speed", {}).items():
        photo_others = speed.get("other_processes_cores")
        if photo_others is not None and photo_others > BUSY_CORES:
            notes.append(
                f"other processes kept {photo_others:.2f} cores busy while the 12 MP photo was timed "
                f"for {speed.get('label', key)}; its speed is too low."
            )
    return notes


def other_processes_text(cores: float | None) -> str:
    return "not measured" if cores is None else f"{cores:.2f} cores on average"


def render_markdown(report: dict[str, Any]) -> str:
    """The benchmark report as markdown, built from the JSON-able report alone."""
    machine = report["machine"]
    images = ", ".join(f"{name} {count}" for name, count in report["images_per_set"].items())
    parts = [
        "# Denoiser benchmark",
        "" if report["complete"] else "**Partial results: the run has not finished.**\n",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}",
        f"- Machine: {machine['cpu']} ({', '.join(machine.get('cpu_features', [])) or 'instruction sets not recorded'}), "
        f"{machine['cores']} cores, {machine['platform']}",
        f"- Load average (1/5/15 min) at start: {machine['load_average_start']}, "
        f"at end: {machine.get('load_average_end')} (the run's own work included)",
        "- CPU taken by other processes during the run (machine busy time in /proc/stat minus this run's own): "
        + other_processes_text(machine.get("other_processes_cores")),
        f"- Threads: torch {report['threads']['torch']} (torch.get_num_threads()), "
        f"OpenCV {report['threads']['opencv']}; the bm3d package spreads its own code over all cores "
        "(its profile's num_threads = 0)"
        + (f", here in {report['cbm3d_processes']} processes at once, so its speed is per process on "
           "shared cores and the machine cleans about that many times as much"
           if report.get("cbm3d_processes", 1) > 1 else ""),
        "- Device: CPU. Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        f"- Our models run through the engine as the app runs them: tiles of {report['engine']['tile']} px, "
        f"each denoised in {report['engine']['passes']} orientations and averaged (`--passes`), "
        f"precision {report['engine'].get('precision', 'auto')} (the engine's `auto`: bfloat16 only where this CPU "
        "measures it clearly faster, see `engine.pick_dtype`)",
        f"- Images per set: {images}; sigmas: {', '.join(f'{s:g}' for s in report['sigmas'])}; "
        f"protocols: {', '.join(report['protocols'])}",
        "- Noise: image i (0-based position in the sorted file list) uses `numpy.random.default_rng(i)`; "
        "float protocol = unclipped float input, 8-bit protocol = clipped, rounded, PNG round trip. "
        "Outputs are clipped and rounded to 8 bits before scoring. SSIM: skimage, 8-bit images, channel_axis=2.",
    ]
    for method in report["methods"]:
        if method.get("reused_scores"):
            parts.append(
                f"- Stored scores: {method['label']}: {method['reused_scores']} of {method['image_scores']} image "
                f"scores come from earlier runs of this benchmark on this machine, on the same noisy images "
                f"(score store `{report['score_store']}`); `--fresh` computes them all again. Its speed counts "
                + (f"{method['timing_images']} image{'s' if method['timing_images'] != 1 else ''} denoised in this run "
                   "only to time it."
                   if method.get("timing_images") else "only the images denoised in this run.")
            )
    for busy in busy_machine_notes(report):
        parts.append(f"- **Warning:** {busy}")
    for note in report["skipped"]:
        parts.append(f"- Note: {note}")
    parts += [
        "",
        "## Targets (model issue)",
        "",
        markdown_table(["Must", "measured (ours vs other)", "verdict"], check_rows(must_checks(report))),
        "",
        markdown_table(["Aim", "measured (ours vs paper)", "verdict"], check_rows(aim_checks(report))),
    ]
    if report.get("nlm"):
        nlm = report["nlm"]
        crops = nlm["training_crops"]
        parts += [
            "",
            "## OpenCV NLM filter strength, tuned on training images",
            f"Grid search {nlm['grid']}, hColor = h, templateWindowSize {nlm['template_window']}, "
            f"searchWindowSize {nlm['search_window']}; mean PSNR over {len(crops['images'])} centre crops "
            f"({crops['size']} px) of {crops['folder']} with 8-bit-protocol noise. Done once at the start of this run. "
            "NLM accepts 8-bit input only, so its float- and 8-bit-protocol numbers are the same run.",
            "",
            markdown_table(["σ", "h", "hColor", "PSNR on training crops (dB)"], nlm_rows(report)),
        ]
    for protocol in report["protocols"]:
        title = PROTOCOL_TITLES[protocol]
        rows = metric_rows(report, protocol, "psnr", 2)
        if protocol == "float":
            rows += paper_rows(report)
        parts += ["", f"## PSNR (dB), {title}", "", markdown_table(_header(report, "method"), rows)]
    for protocol in report["protocols"]:
        table = markdown_table(_header(report, "method"), metric_rows(report, protocol, "ssim", 4))
        parts += ["", f"## SSIM, {protocol} protocol", "", table]
    if report["auto_strength"]:
        parts += [
            "",
            "## Auto strength vs known σ (default model)",
            "PSNR lost = known-σ PSNR − auto-strength PSNR. "
            "σ estimate error = estimated − true σ (8-bit units).",
            "",
            markdown_table(_header(report, "quantity"), auto_strength_rows(report)),
        ]
    parts += [
        "",
        "## Speed on this machine",
        "Wall time of the denoise call only (auto strength includes the noise estimate), "
        "summed over every image denoised in this run; untimed warm-up calls first for the TorchScript models. "
        "Other processes running at the same time slow every method; see their CPU share above.",
        "",
        markdown_table(["method", "megapixels", "seconds", "megapixels / s"], speed_rows(report)),
        "",
    ]
    if report.get("real_noise"):
        from model.real_noise import records_table

        parts += [
            "## Real camera noise",
            "Protocol of shared/data/README.md: the `_real` shot as read from disk, the output clipped and rounded to "
            "8 bits, PSNR over all pixels and channels against `_mean` (the mean of hundreds of shots), averaged over "
            "the set. Methods with a strength run on a grid: the best single strength for the whole set and the "
            "per-image oracle are both oracles, named as such; Auto is what a user gets. Our models run as the app "
            f"runs them ({report['engine']['passes']} passes); CBM3D scores come from the score store where measured "
            "before (`python -m model.real_noise` runs this table alone).",
            "",
            records_table(report["real_noise"]),
            "",
        ]
    if report.get("photo_speed"):
        parts += [
            "## Speed on a 12 MP photo, end to end",
            "A 4000 × 3000 JPEG (the bundled sample enlarged, with fresh grain) cleaned through the batch pipeline "
            "the CLI uses: read, noise estimate (auto strength), tiled denoise, JPEG write. Each round is timed "
            "whole; the first round includes the model's first-call cost on this tile size.",
            "",
            markdown_table(
                ["method", "tile", "seconds per round", "megapixels / s (slowest round)", "other processes meanwhile"],
                photo_rows(report),
            ),
            "",
        ]
    return "\n".join(parts)


def check_rows(checks: Sequence[Check]) -> list[list[str]]:
    return [[check.target, check.measured, check.verdict] for check in checks]


def photo_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, speed in report["photo_speed"].items():
        rounds = " / ".join(f"{seconds:.2f}" for seconds in speed["seconds"])
        rows.append([
            speed.get("label", key), str(speed["tile"]), rounds, format_speed(speed["slowest_megapixels_per_second"]),
            other_processes_text(speed.get("other_processes_cores")),
        ])
    return rows


def write_outputs(report: dict[str, Any], markdown_path: Path) -> str:
    markdown = render_markdown(report)
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown, encoding="utf-8")
    markdown_path.with_suffix(".json").write_text(json.dumps(report, indent=1, allow_nan=False), encoding="utf-8")
    return markdown


