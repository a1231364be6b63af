"""The Unpaired translation tab: both directions with the cycle's reconstruction, samples from
the run's own held-out data, clear messages, and its Space."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image, ImageDraw

from engine.training.loop import TrainSettings, train
from studio.unpaired import UnpairedDemo, build_unpaired_demo, examples_of
from support.tiny import TINY_CYCLEGAN, write_unaligned_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def cycle_run(tmp_path, studio_home) -> str:
    data = write_unaligned_dataset(tmp_path / "shapes2fills")
    return train(
        "cyclegan", TrainSettings(data=str(data), max_steps=2, batch_size=2, sample_size=2), TINY_CYCLEGAN
    )


def test_both_ways_with_the_cycle_and_samples_from_the_run(cycle_run, tmp_path):
    demo = UnpairedDemo({"tiny": cycle_run}, roots=(tmp_path,))
    picture = tmp_path / "in.png"
    drawn = Image.new("RGB", (50, 40), "white")  # not flat: instance norm maps a flat picture to 0
    ImageDraw.Draw(drawn).ellipse((8, 6, 40, 34), fill=(200, 30, 30))
    drawn.save(picture)
    shown, there, back, message = demo.translate(str(picture), "tiny", "A → B")
    assert message == "" and shown.size == there.size == back.size == (32, 24)  # aspect kept
    _, other_way, _, _ = demo.translate(str(picture), "tiny", "B → A")
    assert other_way.tobytes() != there.tobytes()  # G_B is not G_A
    path, message = demo.sample("tiny", "B → A", 1)
    assert path is not None and "from testB/" in message  # B -> A starts from domain B
    assert demo.translate(path, "tiny", "B → A")[3] == ""


def test_bad_input_is_a_message(cycle_run, tmp_path):
    demo = UnpairedDemo({"tiny": cycle_run}, roots=(tmp_path,))
    assert "Add an input image" in demo.translate(None, "tiny", "A → B")[3]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    message = demo.translate(str(broken), "tiny", "A → B")[3]
    assert "cannot read image broken.png" in message and str(tmp_path) not in message
    assert "unknown model" in demo.translate(str(broken), "/etc/passwd", "A → B")[3]
    assert "direction must be" in demo.translate(str(broken), "tiny", "sideways")[3]
    assert demo.sample("tiny-other", "A → B", 0)[0] is None


@pytest.mark.slow
def test_the_unpaired_space_translates_an_upload(cycle_run, tmp_path):
    from gradio_client import handle_file
    from test_space import running_space

    from studio.space import export_space

    out = export_space(tmp_path / "space", "unpaired", cycle_run)
    assert "samples=False" in (out / "app.py").read_text()
    picture = tmp_path / "in.png"
    Image.new("RGB", (40, 40), (30, 200, 30)).save(picture)
    with running_space(out) as client:
        shown, there, back, message = client.predict(
            handle_file(str(picture)), cycle_run, "B → A", api_name="/translate"
        )
        assert message == "" and Image.open(back).size == (32, 32)


def test_a_fresh_store_samples_the_bundled_models_examples_and_names_its_domains(studio_home):
    demo = UnpairedDemo()
    label = next(k for k, v in demo.models.items() if v == "default-cyclegan")
    text, radio = demo.about(label)
    assert "A = shoes, B = handbags" in text and radio["choices"][0][0].startswith("shoes → handbags")
    path, message = demo.sample(label, "B → A", 2)
    assert path is not None and "handbags" in message and "/" not in message.replace("B → A", "")
    shown, there, back, note = demo.translate(path, label, "B → A")
    assert note == "" and shown.size == there.size == back.size
    assert examples_of("default-cyclegan") and all(
        row[1] in ("A → B", "B → A") for row in examples_of("default-cyclegan")
    )


def test_a_wide_picture_keeps_its_aspect(studio_home, tmp_path):
    picture = tmp_path / "wide.png"
    drawn = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(drawn).ellipse((40, 40, 360, 160), fill=(120, 60, 30))
    drawn.save(picture)
    shown, there, back, note = UnpairedDemo(roots=(tmp_path,)).translate(
        str(picture), "default-cyclegan", "A → B"
    )
    assert note == "" and shown.size == there.size == back.size == (128, 64)


def test_no_sample_message_names_a_server_path(cycle_run, tmp_path, studio_home):
    demo = UnpairedDemo({"tiny": cycle_run, "gone": "no-such-run"}, roots=(tmp_path,))
    for label in ("gone", "tiny-other"):
        path, message = demo.sample(label, "A → B", 0)
        assert path is None and str(studio_home) not in message and str(tmp_path) not in message
    shutil.rmtree(tmp_path / "shapes2fills")  # the run's dataset is gone
    path, message = demo.sample("tiny", "A → B", 0)
    assert path is None and "not on this machine" in message and str(tmp_path) not in message


def test_the_sample_endpoint_answers_a_client(studio_home):
    from gradio_client import Client

    demo = build_unpaired_demo()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        path, message = client.predict("default-cyclegan", "A → B", 1, api_name="/unpaired_sample")
        assert Image.open(path).size[0] > 0 and "shoes" in message
    finally:
        demo.close()
