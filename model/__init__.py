"""Training-side code for Denoiser: architectures, noise synthesis, training, export and evaluation.

Nothing here imports Qt; progress and cancellation go through
:mod:`denoiser_app.core.progress`.
"""
