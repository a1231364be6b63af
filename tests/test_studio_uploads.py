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
    with pytest.raises(ImageLoadError, match="huge.png: 5000x4000 is larger than"):
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
