"""`python -m studio`: start the studio on its bundled default models and print the URL."""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m studio", description="Start the studio.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from studio.sketch import build_sketch_demo

    demo = build_sketch_demo()
    print(f"Sketch to shoe: http://{args.host}:{args.port}")
    demo.launch(server_name=args.host, server_port=args.port, show_error=False)


if __name__ == "__main__":
    main()
