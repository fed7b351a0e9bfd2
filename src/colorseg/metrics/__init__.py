"""Segmentation metrics (pure torch / numpy / scikit-image)."""
