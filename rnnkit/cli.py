"""The ``rnnkit`` command: a click group that apps mount their groups on."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

import rnnkit  # noqa: E402


@click.group(name="rnnkit", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rnnkit.__version__, prog_name="rnnkit")
def cli() -> None:
    """Recurrent-network apps on Keras 3 and TensorFlow."""


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
