"""TFDS data sets prepared beforehand: rnnkit never downloads."""

from __future__ import annotations

from collections.abc import Sequence

from rnnkit.errors import InputError


def load_prepared(name: str, splits: Sequence[str], data_dir: str | None) -> list:
    """``tfds.load(name, split=splits)`` from ``data_dir``, with no download.

    A data set that is not prepared there is an ``InputError`` saying how to
    prepare it where there is network.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise InputError(
            f"--data tfds:{name} needs tensorflow-datasets: pip install 'rnnkit[tfds]'"
        ) from None

    where = data_dir or "~/tensorflow_datasets"
    try:
        return tfds.load(
            name,
            split=list(splits),
            data_dir=data_dir,
            download=False,
            download_and_prepare_kwargs={
                "download_config": tfds.download.DownloadConfig(try_download_gcs=False)
            },
        )
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as e:
        raise InputError(
            f"TFDS data set {name!r} is not prepared under {where} ({type(e).__name__}); "
            f"prepare it where there is network with `tfds build {name} --data_dir DIR`, "
            "copy DIR here and pass --data-dir DIR"
        ) from None
