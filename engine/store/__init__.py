"""The run store (SQLite), checkpoints (safetensors + metadata) and loss curves."""
