"""Datasets, transforms, edge extraction, sketch preprocessing and named sources."""
