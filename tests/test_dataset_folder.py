"""A dataset folder that cannot be one (the root, a path climbing to it, 5,000 characters) is
refused in one line on the Train page, before anything scans or stats it (issue 23)."""

from __future__ import annotations

import os

import pytest

from engine.data.sources import folder_problem
from support.app import open_page

CLIMB = "../" * max(4, len(os.getcwd().split(os.sep)))  # "../../../../" from /work/main: up to /


@pytest.mark.parametrize(
    ("folder", "said"),
    [
        ("/", "/ is the root of the file system"),
        (CLIMB, f"{CLIMB} (that is /) is the root of the file system"),
        ("x" * 5000, "that path is 5,000 characters long: a folder path is at most 4,096"),
        ("data/" + "y" * 300, "a name in it is too long"),
        ("data\0x", "embedded null byte"),
    ],
)
def test_folders_that_cannot_be_datasets_say_why(folder, said):
    assert said in folder_problem(folder)


def test_an_ordinary_folder_passes_to_the_dataset_checks(tmp_path):
    assert folder_problem(str(tmp_path)) is None and folder_problem("datasets/facades") is None


def test_the_train_page_says_why_in_one_line(tmp_path):
    at = open_page("train")
    for folder, said in (
        ("/", "root of the file system"),
        (CLIMB, "root of the file system"),
        ("x" * 5000, "5,000 characters long"),
    ):
        at.text_input(key="train.data").input(folder).run()
        assert not at.exception, [e.message[:200] for e in at.exception]
        assert len(at.error) == 1 and said in at.error[0].value, [e.value for e in at.error]
        assert at.button(key="train.launch").disabled
    at.text_input(key="train.data").input(str(tmp_path / "nope")).run()
    assert "not found" in at.error[0].value  # the page goes on working
