"""Batch planning and running: which files to clean, where the results go, and doing it safely.

Planning is pure (paths in, paths out). Running is a generator that yields one
:class:`FileResult` per file, so every caller (CLI, GUI worker, tests) sees the
same sequence and can stop between files; the engine also checks for
cancellation between tiles. Outputs are written atomically, so a cancelled or
failed file never leaves a partial output behind.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from denoiser_app.core.atomic import is_partial_file, leftover_partials, temporary_sibling
from denoiser_app.core.engine import DenoiseSettings, Denoiser, Strength
from denoiser_app.core.imageio import (
    DEFAULT_MAX_MEGAPIXELS,
    Image,
    SUPPORTED_SUFFIXES,
    ImageReadError,
    ImageWriteError,
    output_suffix,
    probe_megapixels,
    read_image,
    write_image,
)
from denoiser_app.core.imageio.errors import DISK_FULL, is_disk_full
from denoiser_app.core.imageio.raw import RAW_SUFFIXES, rawpy_available
from denoiser_app.core.progress import Cancelled, Progress, Stage

JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
OUTPUT_FOLDER_SUFFIX = "-denoised"
# Camera raw files (RAW_SUFFIXES) are read when rawpy (LibRaw) is installed;
# otherwise they are named to the user rather than passed over in silence.
OTHER_PHOTO_SUFFIXES = frozenset({".avif", ".jxl", ".jp2", ".psd", ".gif"})
READ_FORMATS = "JPEG, PNG, TIFF, WebP, BMP, HEIC" + (" and camera raw" if rawpy_available() else "")


@dataclass(frozen=True)
class BatchOptions:
    """Everything a batch needs to know besides its inputs. Immutable, so a worker can hold it safely."""

    output_dir: Path | None = None
    recursive: bool = False
    format: str = "same"
    jpeg_quality: int = 95
    bit_depth: int | None = None
    name_suffix: str = ""
    overwrite: bool = False
    allow_inside_input: bool = False
    denoise: DenoiseSettings = DenoiseSettings()
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    # Photos inside the input folders to leave out (resolved paths): removed from the list by the user.
    exclude: frozenset[Path] = frozenset()
    # A strength for particular photos (resolved paths) instead of ``denoise.strength``: a night shot among day shots.
    strength_for: Mapping[Path, Strength] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedFile:
    source: Path
    destination: Path


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    problems: tuple[tuple[Path, str], ...] = ()
    # Photos found in the input folders in formats that are not read (camera raw…), with the reason.
    passed_over: tuple[tuple[Path, str], ...] = ()

    @property
    def total(self) -> int:
        """Every file the run was given: the photos planned, the inputs with problems, the photos passed over."""
        return len(self.files) + len(self.problems) + len(self.passed_over)


@dataclass(frozen=True)
class FolderScan:
    """What a folder holds for the batch: photos it will clean and photos it cannot read."""

    images: tuple[Path, ...]
    unread: tuple[Path, ...] = ()


class FileStatus(str, Enum):
    """What became of one file. A ``str`` so results compare and print as their plain names."""

    DONE = "done"
    SKIPPED = "skipped"  # its output exists, or it is a kind of photo that is not read (the reason says which)
    FAILED = "failed"
    CANCELLED = "cancelled"  # in progress when the run was cancelled

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FileResult:
    source: Path
    destination: Path
    status: FileStatus
    reason: str = ""
    sigma: float | None = None
    sigma_estimated: bool = False
    seconds: float = 0.0
    megapixels: float = 0.0
    warnings: tuple[str, ...] = ()  # e.g. metadata the output format could not hold
    stops_batch: bool = False  # a failure no later photo can escape (the disk is full)


@dataclass
class Summary:
    """What a run did, file by file; its counts always add up to ``total``.

    ``total`` counts every file the run was given: the photos planned, the
    inputs with problems and the photos passed over. Files a cancel kept from
    starting are ``not_started``.
    """

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cancelled: bool = False
    stopped_by: str = ""  # why the run stopped before its end without a cancel, e.g. "the disk is full"
    failures: list[FileResult] = field(default_factory=list)
    skips: list[FileResult] = field(default_factory=list)
    cancelled_files: list[FileResult] = field(default_factory=list)
    megapixels: float = 0.0
    seconds: float = 0.0

    @classmethod
    def for_plan(cls, plan: Plan) -> Summary:
        return cls(total=plan.total)

    def add(self, result: FileResult) -> None:
        if result.status == FileStatus.DONE:
            self.done += 1
            self.megapixels += result.megapixels
            self.seconds += result.seconds
        elif result.status == FileStatus.SKIPPED:
            self.skipped += 1
            self.skips.append(result)
        elif result.status == FileStatus.FAILED:
            self.failed += 1
            self.failures.append(result)
            if result.stops_batch:
                self.stopped_by = DISK_FULL
        elif result.status == FileStatus.CANCELLED:
            self.cancelled = True
            self.cancelled_files.append(result)

    @property
    def not_started(self) -> int:
        handled = self.done + self.skipped + self.failed + len(self.cancelled_files)
        return max(0, self.total - handled)

    def counts_text(self) -> str:
        """E.g. "1 done, 1 skipped, 0 failed, 1 cancelled, 14 not started (of 17)"; the last two only when not zero."""
        parts = [f"{self.done} done", f"{self.skipped} skipped", f"{self.failed} failed"]
        for count, label in ((len(self.cancelled_files), "cancelled"), (self.not_started, "not started")):
            if count:
                parts.append(f"{count} {label}")
        text = ", ".join(parts)
        text = f"{text} (of {self.total})" if self.total else text
        return f"{text}; stopped: {self.stopped_by}" if self.stopped_by else text

    @property
    def exit_code(self) -> int:
        if self.cancelled:
            return 130
        return 1 if self.failed else 0


class OutputFolderError(OSError):
    """An output folder that cannot be created or written to, found before any photo is cleaned."""

    def __init__(self, folder: Path) -> None:
        super().__init__(f"cannot write in {folder}")
        self.folder = folder


def check_output_folders(plan: Plan) -> None:
    """Create the output folders and write a file in each: one clear error instead of the same failure per photo."""
    for folder in sorted({item.destination.parent for item in plan.files}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = temporary_sibling(folder / "write-test")
            probe.touch(exist_ok=False)
            probe.unlink()
        except OSError as error:
            raise OutputFolderError(folder) from error


def is_junk(path: Path) -> bool:
    """System clutter, hidden files and our own temporary files, never processed.

    Hidden names cover macOS ``._`` resource forks, our ``.partial``
    temporaries and the thumbnails some tools hide beside photos.
    """
    name = path.name.lower()
    return name in JUNK_NAMES or name.startswith(".") or is_partial_file(path)


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not is_junk(path)


def unread_photo_reason(path: Path) -> str | None:
    """Why a photo file is not cleaned, for kinds of photo that are not read; None for anything else."""
    suffix = path.suffix.lower()
    if is_junk(path) or suffix not in RAW_SUFFIXES | OTHER_PHOTO_SUFFIXES:
        return None
    if suffix in RAW_SUFFIXES:
        return f"camera raw ({suffix}) needs rawpy, which is not installed: export it to 16-bit TIFF, then clean the TIFF"
    return f"{suffix} files are not read: save it as JPEG, PNG or 16-bit TIFF first"


def source_folder(source: Path) -> Path:
    """The folder an input stands for: itself, or the folder holding a single photo."""
    return source if source.is_dir() else source.parent


def default_output_dir(source: Path) -> Path:
    """``<folder>-denoised`` beside a folder; for a single file, beside the file's folder."""
    folder = source_folder(source).resolve()
    if folder.parent == folder:
        raise ValueError(f"{folder} is the root of a drive; choose an output folder")
    return folder.parent / f"{folder.name}{OUTPUT_FOLDER_SUFFIX}"


def check_name_suffix(suffix: str) -> None:
    """A name suffix may not move the output into another folder."""
    if any(sep in suffix for sep in ("/", "\\", "\0")) or ".." in suffix:
        raise ValueError(f"the name suffix {suffix!r} may not contain path separators or '..'")


def scan_folder(folder: Path, recursive: bool, skip: Path | None = None) -> FolderScan:
    """The photos in ``folder`` (unresolved paths below it, sorted), leaving out junk and the ``skip`` subtree."""
    images: list[Path] = []
    unread: list[Path] = []
    found = folder.rglob("*") if recursive else folder.iterdir()
    for path in sorted(found):
        relative = path.relative_to(folder)
        if any(is_junk(part) for part in relative.parents if part.name):
            continue
        if skip is not None and is_inside(path.resolve(), skip):
            continue  # our own outputs from an earlier run
        if is_image_name(path):
            if path.is_file():
                images.append(path)
        elif unread_photo_reason(path) and path.is_file():
            unread.append(path)
    return FolderScan(tuple(images), tuple(unread))


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or anywhere below it (both resolved by the caller)."""
    return path == folder or folder in path.parents


def _identity(path: Path) -> str:
    # Case-folded, so two names that one file system treats as the same file
    # (macOS, Windows) never both get planned.
    return str(path).casefold()


def plan_batch(inputs: Iterable[Path], options: BatchOptions) -> Plan:
    """Decide each input image's output path; report inputs that cannot be used."""
    check_name_suffix(options.name_suffix)
    problems: list[tuple[Path, str]] = []
    passed_over: dict[Path, str] = {}
    pairs: dict[Path, tuple[Path, Path]] = {}  # resolved source -> (relative path, output root)
    for given in map(Path, inputs):
        try:
            if not given.exists():
                problems.append((given, "does not exist"))
                continue
            out_root = Path(options.output_dir).resolve() if options.output_dir else default_output_dir(given)
            root = source_folder(given.resolve())
            if is_inside(out_root, root) and not options.allow_inside_input:
                problems.append((given, f"output folder {out_root} is inside the input folder; choose another"))
                continue
            if given.is_dir():
                skip = out_root if out_root != root else None
                scan = scan_folder(given, options.recursive, skip)
                found = [(p, p.relative_to(given)) for p in scan.images]
                passed_over.update((p.resolve(), unread_photo_reason(p) or "") for p in scan.unread)
            elif is_image_name(given):
                found = [(given, Path(given.name))]
            else:
                problems.append((given, unread_photo_reason(given) or f"not a supported image type (reads {READ_FORMATS})"))
                continue
        except (OSError, ValueError) as error:
            problems.append((given, str(error)))
            continue
        for path, relative in found:
            resolved = path.resolve()
            if resolved not in options.exclude:
                pairs.setdefault(resolved, (relative, out_root))
    sources = {_identity(source) for source in pairs}
    planned: list[PlannedFile] = []
    taken: dict[str, Path] = {}
    for source, (relative, out_root) in pairs.items():
        name = f"{relative.stem}{options.name_suffix}{output_suffix(source, options.format)}"
        destination = out_root / relative.parent / name
        identity = _identity(destination.parent.resolve() / destination.name)
        if identity in sources:
            problems.append((source, "its output would replace an input file"))
        elif identity in taken:
            problems.append((source, f"same output name as {taken[identity].name}"))
        else:
            taken[identity] = source
            planned.append(PlannedFile(source, destination))
    return Plan(tuple(planned), tuple(problems), tuple(passed_over.items()))


def planned_work(plan: Plan, options: BatchOptions) -> tuple[float, ...]:
    """Megapixels each planned file will put through the model, from its header: 0 for one whose output exists.

    For a time left by pixels: one 24 MP photo is worth many small ones, and
    files a resumed run skips take no time. A header that cannot be read
    counts as the median of the others.
    """
    sizes = [
        0.0 if item.destination.exists() and not options.overwrite else probe_megapixels(item.source)
        for item in plan.files
    ]
    known = sorted(size for size in sizes if size)
    typical = known[len(known) // 2] if known else 1.0
    return tuple(typical if size is None else size for size in sizes)


# The next photo is read while this one is denoised only up to this size: two
# huge photos at once could run a machine out of memory.
READ_AHEAD_MAX_MEGAPIXELS = 60.0


class ReadAhead:
    """Reads the next photo on a background thread while the current one is denoised.

    Decoding a large JPEG or TIFF takes a noticeable share of a photo's time on a
    GPU; overlapped, it costs nothing. A read error surfaces when the photo is
    taken, in the batch's own thread, like any other.
    """

    def __init__(self, max_megapixels: float) -> None:
        self._max_megapixels = max_megapixels
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._pending: dict[Path, Future[Image]] = {}

    def prefetch(self, path: Path) -> None:
        if path not in self._pending and (probe_megapixels(path) or 0.0) <= READ_AHEAD_MAX_MEGAPIXELS:
            self._pending[path] = self._pool.submit(read_image, path, self._max_megapixels)

    def read(self, path: Path) -> Image:
        future = self._pending.pop(path, None)
        return future.result() if future is not None else read_image(path, self._max_megapixels)

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)


def process_file(
    item: PlannedFile,
    denoiser: Denoiser,
    options: BatchOptions,
    progress: Progress,
    read: Callable[[Path], Image] | None = None,
) -> FileResult:
    """Clean one file. Raises :class:`Cancelled`; every other error becomes a failed result."""
    started = time.perf_counter()
    try:
        image = read(item.source) if read is not None else read_image(item.source, options.max_megapixels)
        settings = options.denoise
        strength = options.strength_for.get(item.source, settings.strength)
        # The photo's pixels are this call's own: cleaned where they lie, with no second copy of a huge photo.
        result = denoiser.denoise(
            image.pixels, strength, settings.tile, progress=progress, keep_grain=settings.keep_grain, in_place=True
        )
        image.pixels = result.pixels
        item.destination.parent.mkdir(parents=True, exist_ok=True)
        warnings = list(image.notes)
        warnings += write_image(item.destination, image, options.format, options.jpeg_quality, options.bit_depth)
    except Cancelled:
        raise
    except (ImageReadError, ImageWriteError) as error:
        disk_full = isinstance(error, ImageWriteError) and error.reason == DISK_FULL
        return FileResult(item.source, item.destination, FileStatus.FAILED, str(error), stops_batch=disk_full)
    except OSError as error:
        reason = f"{error.strerror or error}: {error.filename or item.destination}"
        return FileResult(item.source, item.destination, FileStatus.FAILED, reason, stops_batch=is_disk_full(error))
    except (RuntimeError, ValueError, MemoryError) as error:
        return FileResult(item.source, item.destination, FileStatus.FAILED, f"could not process: {error}")
    height, width = image.pixels.shape[:2]
    return FileResult(
        item.source,
        item.destination,
        FileStatus.DONE,
        sigma=result.sigma,
        sigma_estimated=result.estimated,
        seconds=time.perf_counter() - started,
        megapixels=height * width / 1e6,
        warnings=tuple(warnings),
    )


def run_batch(plan: Plan, denoiser: Denoiser, options: BatchOptions, progress: Progress | None = None) -> Iterator[FileResult]:
    """Process every planned file, yielding a result per file (problems, then passed-over photos, first).

    Existing outputs are skipped unless ``options.overwrite``. On cancel, the
    file in progress yields a ``cancelled`` result and the generator stops; on
    a full disk it stops after that file's failure.
    """
    progress = progress or Progress()
    for source, reason in plan.problems:
        yield FileResult(source, source, FileStatus.FAILED, reason)
    for source, reason in plan.passed_over:
        yield FileResult(source, source, FileStatus.SKIPPED, reason)
    total = len(plan.files)
    # A run that was killed (power cut, SIGKILL) left hidden temporary files; this run writes those photos again.
    for leftover in leftover_partials([item.destination for item in plan.files]):
        leftover.unlink(missing_ok=True)
    reader = ReadAhead(options.max_megapixels)
    try:
        for index, item in enumerate(plan.files):
            progress.report(Stage.FILES, index, total, item.source.name)
            if progress.is_cancelled:
                yield FileResult(item.source, item.destination, FileStatus.CANCELLED)
                return
            if item.destination.exists() and not options.overwrite:
                yield FileResult(item.source, item.destination, FileStatus.SKIPPED, "output exists")
                continue
            upcoming = next((i for i in plan.files[index + 1 :] if options.overwrite or not i.destination.exists()), None)
            if upcoming is not None:
                reader.prefetch(upcoming.source)
            try:
                result = process_file(item, denoiser, options, progress, reader.read)
            except Cancelled:
                yield FileResult(item.source, item.destination, FileStatus.CANCELLED)
                return
            yield result
            if result.stops_batch:
                return  # the rest would fail the same way; they count as not started
    finally:
        reader.close()
    progress.report(Stage.FILES, total, total)


@dataclass(frozen=True)
class JobStarted:
    """The first thing :func:`run_job` yields: the plan, the model it loaded, and the megapixels each photo holds."""

    plan: Plan
    denoiser: Denoiser
    work: tuple[float, ...]  # see planned_work


def run_job(
    inputs: Iterable[Path], options: BatchOptions, load: Callable[[], Denoiser], progress: Progress | None = None
) -> Iterator[JobStarted | FileResult]:
    """A whole batch, as both front ends run it: plan, probe the output folders, load the model, clean.

    Yields one :class:`JobStarted`, then a :class:`FileResult` per file (see
    :func:`run_batch`). Everything that stops the whole job (an output folder
    that cannot be written, a model that cannot be loaded) raises before the
    first yield, once, rather than failing every photo.
    """
    plan = plan_batch(inputs, options)
    check_output_folders(plan)
    denoiser = load()
    yield JobStarted(plan, denoiser, planned_work(plan, options))
    yield from run_batch(plan, denoiser, options, progress)
