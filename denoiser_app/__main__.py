"""``denoiser`` and ``python -m denoiser_app``: open the main window."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="denoiser", description="Remove sensor noise from photos.")
    parser.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="folders or photos to add")
    parser.add_argument("--model", type=Path, default=None, help="a model file (.pt) to offer and select")
    parser.add_argument("--settings", type=Path, default=None, help="use this settings file instead of your own")
    parser.add_argument("--self-test", action="store_true", help="check this installation end to end, then exit")
    parser.add_argument("--out", type=Path, default=None, help="with --self-test: write the JSON result here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, qt_args = build_parser().parse_known_args(argv)
    if args.self_test:  # before Qt sees the arguments: unknown flags would open the window
        from denoiser_app.self_test import self_test

        return self_test(args.out)
    # Imported here so `denoiser --help` answers without loading Qt and torch.
    from PySide6.QtWidgets import QApplication

    from denoiser_app import __version__
    from denoiser_app.gui.drop import FileOpenHandler
    from denoiser_app.gui.errors import unexpected_error_hook
    from denoiser_app.gui.imaging import app_icon
    from denoiser_app.gui.main_window import MainWindow
    from denoiser_app.gui.settings import APPLICATION, ORGANIZATION, Settings

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    # An exception in a slot would otherwise only reach the terminal, and the click would seem to do nothing.
    sys.excepthook = unexpected_error_hook(sys.excepthook)
    window = MainWindow(Settings(args.settings), model_path=args.model)
    app.installEventFilter(FileOpenHandler(window.add_inputs, window))
    window.show()
    if args.inputs:
        window.add_inputs([path.expanduser() for path in args.inputs])
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
