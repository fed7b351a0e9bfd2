"""Image I/O, data sources, splits, datasets, augmentation and built-in synthetic data."""
