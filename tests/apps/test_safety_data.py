"""Data files stay inside their folder: a name that leads out is refused before it is read.

Each case writes a hostile data set as a user might receive one, runs the
real command, and checks for one ``Error:`` line, exit code 2 and no run
folder left behind.
"""

import json

import numpy as np
import pytest

from apps.speechtag import data as speech_data
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing.datafiles import write_coco, write_images


def _train(app, source, run):
    """``rnnkit APP train --preset tiny --data SOURCE --run-dir RUN``."""
    return rcli.invoke(app, "train", "--preset", "tiny", "--data", source, "--run-dir", run)


def _refused(result, *words, run=None):
    """A one-line usage error, and no run folder left behind."""
    line = rcli.usage_error(result, *words)
    assert run is None or not run.exists()
    return line


@pytest.mark.parametrize(
    "name, words",
    [
        ("../../outside.png", ("leads outside",)),
        ("images/../../../outside.png", ("leads outside",)),
        ("/etc/passwd", ("absolute path",)),
        (7, ("is not a file name",)),
        ("im\x000.png", ("is not a file name",)),
    ],
)
def test_coco_names_that_leave_the_folder_are_refused(tmp_path, name, words):
    write_images(tmp_path, 1)  # tmp_path/im0.png: the file a hostile name would reach
    (tmp_path / "im0.png").rename(tmp_path / "outside.png")
    path = write_coco(tmp_path / "data" / "coco", n=2, names=["im0.png", name])
    run = tmp_path / "run"
    result = _train("caption", f"coco:{path}", run)
    _refused(result, *words, run=run)


def test_refusals_do_not_tell_whether_an_outside_file_exists(tmp_path):
    messages = []
    for name in ("/etc/passwd", "/no/such/file"):
        path = write_coco(tmp_path / name.replace("/", "_"), n=1, names=[name])
        result = _train("caption", f"coco:{path}", tmp_path / "run")
        messages.append(_refused(result, "absolute path").replace(name, "NAME"))
        messages[-1] = messages[-1].replace(str(path), "FILE").replace(str(path.parent), "DIR")
    assert messages[0] == messages[1]


def test_a_symlink_out_of_the_image_folder_is_refused(tmp_path):
    write_images(tmp_path / "elsewhere", 1)
    path = write_coco(tmp_path / "coco", n=2)
    (tmp_path / "coco" / "val2017" / "im1.jpg").unlink()
    (tmp_path / "coco" / "val2017" / "im1.jpg").symlink_to(tmp_path / "elsewhere" / "im0.png")
    result = _train("caption", f"coco:{path}", tmp_path / "run")
    _refused(result, "'im1.jpg' leads outside", run=tmp_path / "run")


def test_flickr_names_that_leave_the_folder_are_refused(tmp_path):
    write_images(tmp_path / "flickr" / "Images", 1)
    rows = ["image,caption", "im0.png,a red square", "../../secret.png,a blue square"]
    (tmp_path / "flickr" / "captions.txt").write_text("\n".join(rows))
    result = _train("caption", f"flickr:{tmp_path / 'flickr'}", tmp_path / "run")
    _refused(result, "'../../secret.png' leads outside", run=tmp_path / "run")


def test_a_coco_file_whose_images_are_not_a_list_is_one_line(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"images": {"id": 1}, "annotations": []}))
    result = _train("caption", f"coco:{path}", tmp_path / "run")
    _refused(result, "'images' must be a list", run=tmp_path / "run")


def test_a_speech_folder_with_a_wav_linked_from_outside_is_refused(tmp_path):
    audio = speech_data.wav_bytes(0.3 * np.sin(np.arange(8000) / 8.0))
    (tmp_path / "outside.wav").write_bytes(audio)
    folder = tmp_path / "speech"
    folder.mkdir()
    (folder / "u.wav").symlink_to(tmp_path / "outside.wav")
    (folder / "u.WRD").write_text("0 8000 one\n")
    (folder / "u.PHN").write_text("0 8000 w\n")
    result = _train("speechtag", f"dir:{folder}", tmp_path / "run")
    _refused(result, "'u.wav' leads outside", run=tmp_path / "run")


def test_exported_warmup_records_hold_no_user_image(tmp_path):
    path = write_coco(tmp_path / "coco", n=20)
    run = rcli.train("caption", tmp_path / "run", "--data", f"coco:{path}")
    version = rcli.export("caption", run, tmp_path / "saved" / "caption")
    users = {p.read_bytes() for p in (tmp_path / "coco" / "val2017").iterdir()}
    records = layout.read_warmup(version / layout.WARMUP_FILE)
    sent = {bytes(b) for _, inputs in records for b in inputs["image"].ravel()}
    assert sent and not sent & users
