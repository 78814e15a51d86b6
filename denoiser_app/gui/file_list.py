"""The list of photos to clean: what the user added, each file's size, thumbnail and status.

Thumbnails are made one at a time on their own thread, so a folder of large
photos never stalls the window.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QGuiApplication, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QStyle, QTreeView, QWidget

from denoiser_app.core.batch import FileStatus, FolderScan, is_image_name, scan_folder
from denoiser_app.core.imageio.raw import RAW_SUFFIXES
from denoiser_app.core.engine import Strength, auto_share
from denoiser_app.gui.errors import describe_error
from denoiser_app.gui.imaging import thumbnail
from denoiser_app.gui.latest import LatestRequest

THUMBNAIL_SIZE = 40  # logical pixels; made at the screen's device pixel ratio
STATUS_ICON_SIZE = 16

class RowStatus(str, Enum):
    """A photo's state in the list: what the batch made of it (:class:`FileStatus`'s values), or the list's own."""

    NONE = ""  # not in a run yet
    QUEUED = "queued"
    WORKING = "working"
    DONE = FileStatus.DONE.value
    SKIPPED = FileStatus.SKIPPED.value
    FAILED = FileStatus.FAILED.value
    CANCELLED = FileStatus.CANCELLED.value
    NOT_STARTED = "not started"  # a cancel, or a full disk, kept the photo from starting

    def __str__(self) -> str:
        return self.value


STATUS_TEXT = {
    RowStatus.NONE: "",
    RowStatus.QUEUED: "Queued",
    RowStatus.WORKING: "Working…",
    RowStatus.DONE: "Done",
    RowStatus.SKIPPED: "Skipped",
    RowStatus.FAILED: "Failed",
    RowStatus.CANCELLED: "Cancelled",
    RowStatus.NOT_STARTED: "Not started",
}
_STATUS_ICON = {
    RowStatus.DONE: QStyle.StandardPixmap.SP_DialogApplyButton,
    RowStatus.FAILED: QStyle.StandardPixmap.SP_MessageBoxWarning,
    RowStatus.CANCELLED: QStyle.StandardPixmap.SP_DialogCancelButton,
    RowStatus.SKIPPED: QStyle.StandardPixmap.SP_MessageBoxInformation,
}

Index = QModelIndex | QPersistentModelIndex


def list_images(source: Path, recursive: bool) -> FolderScan:
    """The photos a folder (or a single file) holds, as the batch will see them, as resolved paths."""
    if source.is_file():
        return FolderScan((source.resolve(),) if is_image_name(source) else ())
    if not source.is_dir():
        return FolderScan(())
    scan = scan_folder(source, recursive)
    return FolderScan(tuple(p.resolve() for p in scan.images), tuple(p.resolve() for p in scan.unread))


def describe_unread(paths: Sequence[Path]) -> str:
    """Passed-over photos counted by kind, e.g. "3 camera raw files (.CR2): export raw files to 16-bit TIFF first"."""
    raw = [p for p in paths if p.suffix.lower() in RAW_SUFFIXES]
    other = [p for p in paths if p.suffix.lower() not in RAW_SUFFIXES]
    parts = []
    if raw:
        parts.append(f"{_count(raw, 'camera raw file')} ({_suffixes(raw)}): export raw files to 16-bit TIFF first")
    if other:
        parts.append(f"{_count(other, 'file')} in formats it does not read ({_suffixes(other)})")
    return "; ".join(parts)


def _count(paths: Sequence[Path], noun: str) -> str:
    return f"{len(paths)} {noun}{'s' if len(paths) != 1 else ''}"


def _suffixes(paths: Sequence[Path]) -> str:
    return ", ".join(sorted({p.suffix.upper() for p in paths}))


def describe_strength(strength: Strength) -> str:
    """"Auto", "70% of Auto" or "12"."""
    share = auto_share(strength)
    if share is None:
        return f"{float(strength):g}"
    return "Auto" if share == 1.0 else f"{share * 100:g}% of Auto"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


@dataclass
class FileEntry:
    path: Path
    size: int
    status: RowStatus = RowStatus.NONE
    reason: str = ""
    notes: tuple[str, ...] = ()  # e.g. metadata the output could not hold, for a photo that was done
    strength: Strength | None = None  # this photo's own strength, instead of the panel's

    def status_text(self) -> str:
        text = STATUS_TEXT[self.status]
        if self.status in (RowStatus.FAILED, RowStatus.SKIPPED) and self.reason:
            text = f"{text}: {self.reason}"
        elif self.notes:
            text = f"{text} (with a note)"
        if self.strength is not None:
            own = f"own strength {describe_strength(self.strength)}"
            text = f"{text} \u00b7 {own}" if text else own.capitalize()
        return text

    def status_tooltip(self) -> str | None:
        details = "\n".join(([self.reason] if self.reason else []) + list(self.notes))
        return f"{STATUS_TEXT[self.status]}: {details}" if details else None


class _ThumbnailWorker(QObject):
    made = Signal(int, str, QImage)

    def __init__(self, latest: LatestRequest) -> None:
        super().__init__()
        self._latest = latest  # shared with the loader; a stale request is skipped

    @Slot(int, str, int)
    def make(self, generation: int, path: str, size: int) -> None:
        if not self._latest.is_current(generation):
            return
        image = thumbnail(Path(path), size)
        self.made.emit(generation, path, image if image is not None else QImage())


class ThumbnailLoader(QObject):
    """Makes thumbnails on a background thread; ``ready(path, image)`` arrives on the UI thread."""

    ready = Signal(str, QImage)
    _wanted = Signal(int, str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest = LatestRequest()
        self._thread = QThread(self)
        self._thread.setObjectName("thumbnails")
        self._worker = _ThumbnailWorker(self._latest)
        self._worker.moveToThread(self._thread)
        self._wanted.connect(self._worker.make)
        self._worker.made.connect(self._on_made)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start(QThread.Priority.LowPriority)

    def request(self, paths: Iterable[Path], size: int) -> None:
        for path in paths:
            self._wanted.emit(self._latest.current, str(path), size)

    def forget_pending(self) -> None:
        self._latest.supersede()

    def stop(self) -> None:
        self.forget_pending()
        self._thread.quit()
        self._thread.wait()

    @Slot(int, str, QImage)
    def _on_made(self, generation: int, path: str, image: QImage) -> None:
        if self._latest.is_current(generation) and not image.isNull():
            self.ready.emit(path, image)


class FileListModel(QAbstractTableModel):
    """Rows are image files; columns are name (with thumbnail), size and status."""

    listing_failed = Signal(str, str)  # message, details: added folders that could not be read were left out

    NAME, SIZE, STATUS = range(3)
    HEADERS = ("Name", "Size", "Status")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sources: list[Path] = []  # what the user added: folders and files, in order
        self.excluded: set[Path] = set()  # photos the user removed from the list (resolved)
        self.unread: list[Path] = []  # photos in those folders in formats that are not read (camera raw…)
        self.recursive = False
        self._entries: list[FileEntry] = []
        self._rows: dict[Path, int] = {}
        self._thumbnails: dict[Path, QPixmap] = {}
        self._status_pixmaps: dict[str, QPixmap] = {}
        self._pixel_ratio = QGuiApplication.instance().devicePixelRatio()  # type: ignore[union-attr]
        self._placeholder = QPixmap(round(THUMBNAIL_SIZE * self._pixel_ratio), round(THUMBNAIL_SIZE * self._pixel_ratio))
        self._placeholder.fill(Qt.GlobalColor.transparent)  # keeps names lined up while thumbnails load
        self._placeholder.setDevicePixelRatio(self._pixel_ratio)
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._on_thumbnail)

    # -- contents -------------------------------------------------------

    def remove(self, paths: Iterable[Path]) -> None:
        """Leave these photos out of the list (and so out of the batch) until the list is cleared."""
        self.excluded |= {Path(path).resolve() for path in paths}
        self._relist()

    def add_sources(self, paths: Iterable[Path]) -> int:
        """Add folders and files; returns how many new images were listed."""
        before = len(self._entries)
        for path in paths:
            path = Path(path).resolve()
            if path not in self.sources and (path.is_dir() or is_image_name(path)):
                self.sources.append(path)
        self._relist()
        return len(self._entries) - before

    def set_recursive(self, recursive: bool) -> None:
        if recursive != self.recursive:
            self.recursive = recursive
            self._relist()

    def clear(self) -> None:
        self.sources = []
        self.excluded = set()
        self._relist()

    def _relist(self) -> None:
        previous = {entry.path: entry for entry in self._entries}
        unique: dict[Path, None] = {}  # keeps the order sources were added in
        unread: dict[Path, None] = {}
        unreadable: dict[Path, OSError] = {}
        for source in self.sources:
            try:
                scan = list_images(source, self.recursive)
            except OSError as error:
                unreadable[source] = error
                continue
            unique.update(dict.fromkeys(p for p in scan.images if p not in self.excluded))
            unread.update(dict.fromkeys(scan.unread))
        self.unread = list(unread)
        # Dropped, so a later Start or relist does not trip over them again.
        self.sources = [source for source in self.sources if source not in unreadable]
        paths = list(unique)
        self.beginResetModel()
        self._entries = [previous.get(p) or FileEntry(p, _file_size(p)) for p in paths]
        self._rows = {entry.path: row for row, entry in enumerate(self._entries)}
        self._thumbnails = {path: pixmap for path, pixmap in self._thumbnails.items() if path in self._rows}
        self.endResetModel()
        self.thumbnails.forget_pending()
        missing = [p for p in paths if p not in self._thumbnails]
        self.thumbnails.request(missing, round(THUMBNAIL_SIZE * self._pixel_ratio))
        if unreadable:
            self._report_unreadable(unreadable)

    def _report_unreadable(self, unreadable: dict[Path, OSError]) -> None:
        names = "\n".join(str(source) for source in unreadable)
        _, details = describe_error(next(iter(unreadable.values())))
        self.listing_failed.emit(
            f"These could not be opened, so their photos are not listed:\n{names}\n\n"
            "Check that the disk is connected and that you are allowed to open them.",
            details,
        )

    def files(self) -> list[Path]:
        return [entry.path for entry in self._entries]

    def entry(self, row: int) -> FileEntry:
        return self._entries[row]

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(Path(path))

    def has_thumbnail(self, path: Path) -> bool:
        return Path(path) in self._thumbnails

    # -- statuses -------------------------------------------------------

    def set_status(self, path: Path, status: RowStatus | FileStatus, reason: str = "", notes: tuple[str, ...] = ()) -> None:
        row = self.row_of(path)
        if row is None:
            return
        entry = self._entries[row]
        entry.status, entry.reason, entry.notes = RowStatus(status), reason, notes
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.STATUS))

    def set_status_under(self, source: Path, status: RowStatus | FileStatus, reason: str = "", notes: tuple[str, ...] = ()) -> None:
        """Mark ``source`` itself, or every listed file inside it if it is a folder."""
        if self.row_of(source) is not None:  # the usual case, once per finished file: no scan of every row
            self.set_status(source, status, reason, notes)
        elif source.is_dir():
            for entry in self._entries:
                if entry.path.is_relative_to(source):
                    self.set_status(entry.path, status, reason, notes)

    def set_strength(self, path: Path, strength: Strength | None) -> None:
        """Give one photo its own strength (None: back to the panel's); kept across relisting."""
        row = self.row_of(path)
        if row is not None:
            self._entries[row].strength = strength
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.STATUS))

    def strengths(self) -> dict[Path, Strength]:
        return {entry.path: entry.strength for entry in self._entries if entry.strength is not None}

    def reset_statuses(self, status: RowStatus = RowStatus.NONE, only: Iterable[Path] | None = None) -> None:
        """Set every entry's status (or only those of ``only``; the others keep theirs)."""
        chosen = None if only is None else set(only)
        for entry in self._entries:
            if chosen is None or entry.path in chosen:
                entry.status, entry.reason, entry.notes = status, "", ()
        if self._entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._entries) - 1, self.STATUS))

    def count_status(self, status: RowStatus) -> int:
        return sum(entry.status == status for entry in self._entries)

    # -- Qt model -------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return entry.path.name
            if column == self.SIZE:
                return human_size(entry.size)
            return entry.status_text()
        if role == Qt.ItemDataRole.DecorationRole:
            if column == self.NAME:
                return self._thumbnails.get(entry.path, self._placeholder)
            if column == self.STATUS and entry.status in _STATUS_ICON:
                return self._status_icon(entry.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            tooltip = entry.status_tooltip() if column == self.STATUS else None
            return tooltip or str(entry.path)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _status_icon(self, status: str) -> QPixmap:
        # A pixmap rather than an icon: the view would draw icons at thumbnail size.
        if status not in self._status_pixmaps:
            style = QApplication.style()
            self._status_pixmaps[status] = style.standardIcon(_STATUS_ICON[status]).pixmap(STATUS_ICON_SIZE)
        return self._status_pixmaps[status]

    @Slot(str, QImage)
    def _on_thumbnail(self, path: str, image: QImage) -> None:
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self._pixel_ratio)
        key = Path(path)
        self._thumbnails[key] = pixmap
        row = self.row_of(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, self.NAME), self.index(row, self.NAME), [Qt.ItemDataRole.DecorationRole])

    def shutdown(self) -> None:
        self.thumbnails.stop()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


STATUS_WIDTH = 150


class FileListView(QTreeView):
    """A flat, sortable-looking list of files with thumbnails."""

    def __init__(self, model: FileListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(FileListModel.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(FileListModel.SIZE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FileListModel.STATUS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(FileListModel.STATUS, STATUS_WIDTH)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # A narrow list (a small screen, the preview given the room) keeps the names readable.
        status = max(60, min(STATUS_WIDTH, self.viewport().width() // 3))
        self.header().resizeSection(FileListModel.STATUS, status)

    def select_path(self, path: Path) -> bool:
        model = self.model()
        assert isinstance(model, FileListModel)
        row = model.row_of(path)
        if row is None:
            return False
        index = model.index(row, 0)
        self.setCurrentIndex(index)
        self.scrollTo(index)
        return True
