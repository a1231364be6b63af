"""Start-up stays light: the command lines import only what the asked command needs, a model is
built once (on the meta device) and takes the file's weights unchanged, and the studio starts
Streamlit before it imports Gradio. Timings live in bench/startup.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from engine.inference.loader import _NoRandomFill, check_model_size, networks_with_weights
from engine.inference.model_files import load_networks, task_and_config
from engine.store.checkpoints import read_weights
from support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "gradio", "torchvision", "scipy", "skimage", "streamlit", "onnx", "onnxruntime")


def imported_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_engine_help_and_a_commands_options_import_no_heavy_library():
    code = (
        "import contextlib, io\n"
        "from engine.cli import main\n"
        "from engine.cli.infer import eval_parser, translate_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--help']) == 0\n"
        "assert 'translate' in out.getvalue()\n"
        "translate_parser().format_help(); eval_parser().format_help()"
    )
    assert imported_after(code) == []


def test_studio_options_import_neither_gradio_nor_torch():
    code = (
        "import contextlib, io\n"
        "from studio.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0\n"
        "assert '--streamlit-port' in out.getvalue()"
    )
    assert not {"gradio", "torch", "streamlit"} & set(imported_after(code))


def test_the_studio_starts_streamlit_before_importing_gradio():
    """Streamlit comes up while this process imports and builds the Gradio demos: at the moment
    it is started, Gradio is not imported yet (the stand-in for Popen then stops the launch)."""
    code = (
        "import sys\n"
        "import studio.__main__ as launcher\n"
        "seen = []\n"
        "def popen(command, **options):\n"
        "    seen.append((command, 'gradio' in sys.modules))\n"
        "    raise OSError('stopped by the test')\n"
        "launcher.subprocess.Popen = popen\n"
        "assert launcher.main(['--port', sys.argv[1], '--streamlit-port', sys.argv[2]]) == 1\n"
        "import json\n"
        "print(json.dumps(seen))"
    )
    ports = [str(port) for port in free_ports(2)]
    done = subprocess.run(
        [sys.executable, "-c", code, *ports], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "stopped by the test" in done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(seen) == 1 and "studio.streamlit_server" in seen[0][0] and seen[0][1] is False


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def test_translate_writes_its_output_without_importing_dynamo(tmp_path: Path):
    """The one-shot path end to end: the sketch goes in, a PNG comes out, and building the model
    on the meta device (to size it) did not pull in torch._dynamo."""
    out = tmp_path / "shoe.png"
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['engine', 'translate', '--model', 'default', {str(ROOT / 'assets/examples/sketch_boot.png')!r}, "
        f"{str(out)!r}, '--sketch']\n"
        "try:\n"
        "    runpy.run_module('engine', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print('dynamo', 'torch._dynamo' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "wrote 1 image(s)" in done.stdout and "dynamo False" in done.stdout
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 0 and image.mode == "RGB"


@pytest.mark.parametrize("name", ["pix2pix-edges2shoes", "spade-facades", "cyclegan-shoes2handbags"])
def test_a_model_built_on_meta_holds_exactly_the_files_weights(name: str):
    """U-Net, SPADE (spectral norm) and ResNet generators: the meta-built networks given the
    file's tensors equal networks built on the CPU and loaded the usual way."""
    path = str(ROOT / "assets" / "models" / f"{name}.safetensors")
    nets, meta = read_weights(path)
    task, config = task_and_config(path, meta)
    fast = networks_with_weights(task, config, nets, path)
    usual = task.build_served(config)
    load_networks(usual, read_weights(path)[0], path)
    assert fast.keys() == usual.keys()
    for key, net in fast.items():
        assert not any(t.is_meta for t in (*net.parameters(), *net.buffers()))
        expected = usual[key].state_dict()
        got = net.state_dict()
        assert got.keys() == expected.keys()
        for tensor in got:
            torch.testing.assert_close(got[tensor], expected[tensor], rtol=0, atol=0)


class Scaled(torch.nn.Module):
    """A network with a constant the file does not hold (a non-persistent buffer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)
        self.register_buffer("scale", torch.full((1, 3, 1, 1), 2.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale


class ScaledTask:
    name, kind = "scaled", "image-to-image"

    @staticmethod
    def build_served(config) -> dict[str, torch.nn.Module]:
        return {"G": Scaled()}


def test_a_network_with_a_constant_the_file_lacks_is_built_on_the_cpu():
    weights = {"G": {k: torch.randn_like(v) for k, v in Scaled().state_dict().items()}}
    served = networks_with_weights(ScaledTask, None, weights, "scaled.safetensors")["G"]
    assert not any(t.is_meta for t in (*served.parameters(), *served.buffers()))
    assert torch.equal(served.scale, torch.full((1, 3, 1, 1), 2.0))
    assert torch.equal(served.conv.weight, weights["G"]["conv.weight"])


def test_sizing_on_meta_skips_random_fills_but_counts_every_parameter():
    path = str(ROOT / "assets" / "models" / "spade-facades.safetensors")
    task, config = task_and_config(path, read_weights(path)[1])
    with torch.device("meta"):
        plain = sum(p.numel() for net in task.build_served(config).values() for p in net.parameters())
    sized = check_model_size(config, task, path)
    assert sum(p.numel() for net in sized.values() for p in net.parameters()) == plain
    with _NoRandomFill():  # off the meta device nothing is skipped
        filled = torch.nn.init.normal_(torch.zeros(64), 5.0, 1.0)
    assert filled.mean() > 4.0
