"""Data shipped with Denoiser: model files, icons and a sample photo.

Installed as the package ``denoiser_resources`` (see pyproject.toml) so that
editable installs, wheels and frozen apps all find it the same way.
"""
