"""Uploads reach the demos undecoded, are size-checked from their header, come only from the
upload folder or the demo's examples, and errors name the visitor's file, not a server path."""

from __future__ import annotations

import pytest
from gradio.data_classes import FileData
from PIL import Image

from engine.data.images import ImageLoadError
from studio.uploads import MissingUpload, ScratchFolder, image_upload, read_upload


def test_a_corrupt_upload_reaches_the_demo_as_a_path(tmp_path):
    import gradio as gr

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    payload = FileData(path=str(broken), orig_name="broken.png")
    with pytest.raises(OSError):  # Gradio's own Image decodes it and fails with no message of ours
        gr.Image(type="filepath").preprocess(payload)
    assert image_upload("x").preprocess(payload) == str(broken)
    with pytest.raises(ImageLoadError, match="the content image: cannot read image broken.png") as err:
        read_upload(str(broken), "content", (tmp_path,))
    assert str(tmp_path) not in str(err.value)


def test_a_huge_image_is_refused_from_its_header(tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (5000, 4000)).save(huge)  # 20 Mpx in a few kB
    with pytest.raises(
        ImageLoadError, match="huge.png: 5000x4000 .20 megapixels. in \\d+ kB looks like a decompression bomb"
    ):
        read_upload(str(huge), "style", (tmp_path,))


def test_paths_outside_uploads_and_examples_are_refused(tmp_path):
    inside, outside = tmp_path / "examples", tmp_path / "secret"
    inside.mkdir(), outside.mkdir()
    Image.new("RGB", (8, 8)).save(outside / "a.png")
    with pytest.raises(ImageLoadError, match="must be an upload or one of the examples"):
        read_upload(str(outside / "a.png"), "content", (inside,))
    with pytest.raises(MissingUpload):
        read_upload(None, "content", (inside,))


def test_the_scratch_folder_keeps_only_the_newest_files():
    gifs = ScratchFolder(keep=3, suffix=".gif")
    for _ in range(5):
        gifs.new_path().write_bytes(b"GIF89a")
    assert len(list(gifs.folder.glob("*.gif"))) == 3


def test_a_camera_photo_is_decoded_reduced_keeping_its_aspect(tmp_path):
    photo = tmp_path / "camera.jpg"
    Image.new("RGB", (6000, 4000), (90, 140, 200)).save(photo, quality=60)  # 24 Mpx, a camera's size
    img = read_upload(str(photo), "content", (tmp_path,))
    assert img.mode == "RGB" and max(img.size) <= 4096 and abs(img.width / img.height - 1.5) < 0.01
    assert read_upload(str(photo), "content", (tmp_path,), max_side=500).size == (500, 333)


def test_exif_orientation_survives_the_reduced_decode(tmp_path):
    photo = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: a phone held upright
    Image.new("RGB", (6000, 4000), "white").save(photo, exif=exif, quality=60)
    assert read_upload(str(photo), "content", (tmp_path,), max_side=600).size == (400, 600)


def test_true_bombs_and_giants_are_refused_in_megapixels(tmp_path):
    giant = tmp_path / "giant.png"
    Image.new("1", (12000, 10000)).save(giant)  # 120 Mpx
    with pytest.raises(
        ImageLoadError, match="giant.png: 12000x10000 .120 megapixels. is over the 100-megapixel"
    ):
        read_upload(str(giant), "style", (tmp_path,))


def test_a_text_file_named_png_is_taken_out_of_the_upload_box(tmp_path):
    import gradio as gr

    from studio.uploads import clear_unreadable

    fake = tmp_path / "notes.png"
    fake.write_text("just some text")
    with pytest.warns(UserWarning, match="notes.png is not an image"):
        assert clear_unreadable(str(fake)) is None
    real = tmp_path / "real.png"
    Image.new("RGB", (8, 8)).save(real)
    assert not isinstance(clear_unreadable(str(real)), type(None))  # left as it is
    with gr.Blocks() as demo:
        box = image_upload("x")
    assert any(
        box._id in [t[0] for t in fn.targets] and fn.fn is clear_unreadable for fn in demo.fns.values()
    )
