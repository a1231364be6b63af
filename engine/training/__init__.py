"""The one training loop for every task, background launches for the UIs, and presets."""
