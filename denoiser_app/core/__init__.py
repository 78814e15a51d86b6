"""The Qt-free engine: image I/O, tiling, inference, noise estimation and batch runs."""
