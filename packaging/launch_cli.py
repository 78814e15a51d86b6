"""PyInstaller entry script for the console executable (same as ``denoiser-cli``)."""
import multiprocessing

if __name__ == "__main__":
    # Must run before anything else in a frozen Windows/macOS build, or a
    # child process started by multiprocessing would relaunch the whole app.
    multiprocessing.freeze_support()

    from denoiser_app.cli import main

    raise SystemExit(main())
