"""`python -m studio`: start the whole studio (Gradio demos + the Streamlit app) on the bundled
models and print the URLs; `python -m studio export-space ...` writes a Hugging Face Space."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from engine.errors import UserError
from engine.runtime.threads import apply_server_thread_policy, quiet_openmp_env
from studio.ports import pick_port

ROOT = Path(__file__).resolve().parent.parent
apply_server_thread_policy()  # before torch starts: how idle OpenMP threads wait (engine/runtime/threads.py)


def start(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    port = pick_port(args.host, args.port, 7860, "--port")
    streamlit_port = None
    if not args.no_streamlit:
        streamlit_port = pick_port(args.host, args.streamlit_port, 8501, "--streamlit-port", (port,))
    gradio_url = f"http://{args.host}:{port}"
    streamlit = None
    if streamlit_port:  # started first: it comes up while this process imports and builds the demos
        env = {**quiet_openmp_env(), "STUDIO_GRADIO_URL": gradio_url}
        streamlit = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "studio.streamlit_server",
                "--server.port",
                str(streamlit_port),
                "--server.address",
                args.host,
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
        )
    # SIGTERM ends the studio like Ctrl-C, so the Streamlit child is stopped too, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        from studio.blocks import build_studio
        from studio.inputs import LAUNCH_LIMITS

        demo = build_studio()
        try:
            demo.launch(
                server_name=args.host,
                server_port=port,
                show_error=False,
                quiet=True,
                prevent_thread_lock=True,
                **LAUNCH_LIMITS,  # an upload over MAX_FILE_SIZE is refused before it reaches the disk
            )
        except OSError as err:  # taken meanwhile; Gradio's own advice (an env variable) is not ours
            raise UserError(f"could not serve on port {port}; choose a free one with --port PORT") from err
        print(f"Gradio demos:   {gradio_url}", flush=True)
        if streamlit:
            print(
                f"Streamlit app:  http://{args.host}:{streamlit_port}  (training, runs, compare, learn)",
                flush=True,
            )
        demo.block_thread()
    finally:
        if streamlit:
            streamlit.terminate()
            streamlit.wait(timeout=20)
    return 0


def export(args: argparse.Namespace) -> int:
    from studio.space import export_space, push_space

    folder = export_space(args.out, args.demo, args.model, args.home, args.static)
    if args.static:
        print(f"wrote the static Space to {folder}; try it with: python -m studio serve-static {folder}")
        return 0
    print(f"wrote the Space to {folder}; try it with: cd {folder} && python app.py")
    if args.push:
        print(f"pushed: {push_space(folder, args.push)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    demos: tuple[str, ...] | None = None
    if "export-space" in argv:  # studio.space imports Gradio and torch: not before the studio starts
        from studio.space import DEMOS

        demos = tuple(DEMOS)
    parser = argparse.ArgumentParser(prog="python -m studio", description="The Image Synthesis Studio.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="Gradio demos (default: 7860, or the next free port)")
    parser.add_argument("--streamlit-port", type=int, help="Streamlit app (default: 8501, or the next free)")
    parser.add_argument("--no-streamlit", action="store_true", help="start the Gradio demos only")
    sub = parser.add_subparsers(dest="command")
    exp = sub.add_parser("export-space", help="write a demo as a Hugging Face Space folder")
    exp.add_argument("out", type=Path, help="new folder for the Space")
    exp.add_argument("--demo", default="sketch", choices=demos)
    exp.add_argument(
        "--model",
        help="'default' (sketch), 'default-cyclegan' (unpaired), 'default-vae' (latent), a run id or a checkpoint",
    )
    exp.add_argument(
        "--push", metavar="REPO_ID", help="upload to this Space (needs HF_TOKEN and the network)"
    )
    exp.add_argument("--home", help="run store folder (default: $STUDIO_HOME)")
    exp.add_argument(
        "--static", action="store_true", help="sketch: a static Space, the model runs in the browser (ONNX)"
    )
    srv = sub.add_parser("serve-static", help="serve a static Space folder as the Hub does (COOP/COEP)")
    srv.add_argument("folder", type=Path, help="a folder written by export-space --static")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        if args.command == "serve-static":
            from studio.static_space import serve_folder

            return serve_folder(args.folder, args.host, args.port)
        return export(args) if args.command == "export-space" else start(args)
    except (UserError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
