"""Training-side code for Denoiser: architectures, noise synthesis, training, export and evaluation.

Nothing here imports Qt; progress and cancellation go through
:mod:`denoiser_app.core.progress`.

Two parts. What the app imports at run time (the window's fine-tuning and
model management): ``archs``, ``noise``, ``camera_noise``, ``noise_profile``,
``synthetic``, ``data``, ``train`` and ``export``. Research tooling, run from
the command line only, is listed in :data:`RESEARCH_MODULES`: the app never
imports it (``tests/test_boundaries.py``) and the frozen app leaves it out
(``packaging/denoiser.spec``), with its benchmark-only dependencies.

The package keeps the name ``model`` (the folder the user laid out) rather
than a distinct import name: the wheel is for developers and the frozen app,
where nothing else is installed beside it; a distinct name would break every
``python -m model.*`` command for no user-visible gain.
"""

RESEARCH_MODULES = (
    "benchmark", "contact_sheet", "cpu_share", "evaluate", "ffdnet", "noise_cause", "noise_stats", "pareto",
    "memory_check", "photo_speed", "precision_check", "real_noise", "score_store", "speed_table", "startup_timing",
    "targets", "train_estimator",
)
