"""Prediction from checkpoints: Python API and folder batch prediction."""
