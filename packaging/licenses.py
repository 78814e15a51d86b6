"""Third-party licence notices for the frozen app: every bundled distribution's licence files and a summary.

    python packaging/licenses.py OUT_FOLDER

The spec calls :func:`write_notices` at build time and ships the folder as
``licenses/`` beside the app's resources; the About dialog opens it.
"""
from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

# What the frozen app bundles, by distribution name.
BUNDLED = (
    "torch", "PySide6-Essentials", "shiboken6", "pillow", "numpy", "opencv-python-headless", "tifffile",
    "pillow-heif", "rawpy", "platformdirs", "superqt", "tqdm",
)
LICENCE_WORDS = ("LICENSE", "LICENCE", "COPYING", "NOTICE")


def _licence(dist: metadata.Distribution) -> str:
    return dist.metadata.get("License-Expression") or (dist.metadata.get("License") or "see its files").splitlines()[0]


def write_notices(folder: Path, names: tuple[str, ...] = BUNDLED) -> list[str]:
    """Copy each distribution's licence files into ``folder/<name>/`` and write ``THIRD-PARTY.md``; returns the names."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, written = [], []
    for name in names:
        dist = metadata.distribution(name)
        target = folder / name
        target.mkdir(exist_ok=True)
        for file in dist.files or []:
            if any(word in file.name.upper() for word in LICENCE_WORDS):
                source = Path(str(file.locate()))
                if source.is_file():
                    relative = Path(*file.parts[1:]) if len(file.parts) > 1 else Path(file.name)
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target / relative)
        home = dist.metadata.get("Home-page") or next(
            (url.split(",", 1)[1].strip() for url in dist.metadata.get_all("Project-URL") or [] if "," in url), ""
        )
        rows.append(f"| {name} | {dist.version} | {_licence(dist)} | {home} |")
        written.append(name)
    summary = [
        "# Third-party software in Denoiser",
        "",
        "Each folder here holds that package's own licence files. Qt for Python (PySide6, shiboken6) is used",
        "under the LGPL v3: its source is at https://download.qt.io/official_releases/QtForPython/, and you may",
        "replace the bundled Qt libraries with your own build. libheif and libde265 (in pillow-heif) are LGPL;",
        "x265, used to write HEIC, is GPL v2 (see pillow-heif/LICENSES_bundled.txt); LibRaw (in rawpy) is",
        "LGPL 2.1 or CDDL 1.0.",
        "",
        "| package | version | licence | home |",
        "|---|---|---|---|",
        *rows,
        "",
    ]
    (folder / "THIRD-PARTY.md").write_text("\n".join(summary), encoding="utf-8")
    return written


if __name__ == "__main__":
    write_notices(Path(sys.argv[1]))
