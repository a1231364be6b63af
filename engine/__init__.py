"""Image Synthesis Studio engine: datasets, networks, tasks, the trainer, the run store and
inference. A library first: every UI action is also a Python call and a CLI command."""

__version__ = "0.1.0"
