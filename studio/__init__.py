"""Gradio demos and the launcher: thin layers over `engine`."""
