"""Denoiser: removes sensor noise from folders of photos."""
__version__ = "0.1.0"
