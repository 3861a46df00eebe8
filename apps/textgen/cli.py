"""``rnnkit textgen``: train, evaluate, export (built by rnnkit) and generate."""

from pathlib import Path

import click

from apps.textgen.config import DYNAMIC_DECAY, DYNAMIC_LR, MAX_NEW_CHARS
from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.errors import InputError
from rnnkit.options import add_options, input_errors, server_options

APP = rapp.App.from_package(
    __package__,
    help="Character-level text generation. --data: embedded (Shakespeare, the default), "
    "file:PATH (a UTF-8 text file or folder), tfds:tiny_shakespeare (with --data-dir).",
    assets=("vocab.json",),  # data.VOCAB_FILE
    signatures=("serving_default", "prime", "step"),
    evaluate_options=[
        click.Option(
            ["--dynamic"],
            is_flag=True,
            help="Also score with dynamic evaluation: the weights adapt to the validation "
            "text as it is read, each segment scored before they learn from it "
            "(dynamic_bits_per_char).",
        ),
        click.Option(
            ["--dynamic-lr"],
            type=click.FloatRange(min=0),
            default=DYNAMIC_LR,
            show_default=True,
            help="Dynamic evaluation's learning rate (RMS-normalised steps).",
        ),
        click.Option(
            ["--dynamic-decay"],
            type=click.FloatRange(0, 1),
            default=DYNAMIC_DECAY,
            show_default=True,
            help="Dynamic evaluation's pull back to the trained weights per segment.",
        ),
    ],
)

group = rapp.app_group(APP)


def _open(source: Path, adapt: int = 0, prompt: str = "", **server):
    """``(generate, prime, step, vocab)`` of a run or a SavedModel (here or on TF Serving);
    a run's model first adapted to ``prompt`` by ``adapt`` passes of dynamic evaluation."""
    from apps.textgen import export as textgen_export
    from apps.textgen.data import Vocab

    opened = runs.open_model(APP, source, **server)
    vocab = Vocab.load(opened.assets)
    if adapt and opened.run is None:
        raise InputError(
            "--adapt needs a run directory: a SavedModel serves fixed weights and cannot learn"
        )
    if opened.run is None:
        sigs = opened.signatures
        return sigs["serving_default"], sigs["prime"], sigs["step"], vocab
    if adapt:
        _adapt(opened.run, vocab, prompt, adapt)
    generator = textgen_export.Generator(opened.run.model, vocab)
    return generator.generate, generator.prime, generator.step, vocab


def _adapt(run, vocab, prompt: str, passes: int) -> None:
    """Dynamic evaluation over the prompt, ``passes`` times: the run's model learns it."""
    from apps.textgen import data
    from apps.textgen.dynamic import Adapter

    if len(prompt) < 2:
        raise InputError("--adapt needs a --prompt of at least 2 characters to adapt to")
    try:  # each weight's step size comes from its gradients on the training text
        train_text, _ = data.load_text(run.config.data)
    except InputError as e:
        raise InputError(f"--adapt reads the run's training text, which failed: {e}") from None
    adapter = Adapter(run.model, vocab.encode(train_text))
    for _ in range(passes):
        adapter.read(vocab.encode(prompt))


@group.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--prompt", default="", help="Text to continue (default: a new speech).")
@click.option("--length", type=click.IntRange(1, MAX_NEW_CHARS), default=300, show_default=True)
@click.option(
    "--temperature", type=click.FloatRange(min=0), default=0.8, show_default=True, help="0: greedy."
)
@click.option(
    "--top-k", type=click.IntRange(min=0), default=0, help="Keep the K likeliest (0: all)."
)
@click.option("--top-p", type=click.FloatRange(0, 1), default=1.0, help="Nucleus mass (1: all).")
@click.option("--beam", type=click.IntRange(min=1), default=1, help="Beam width (>1: beam search).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--adapt",
    type=click.IntRange(min=0),
    default=0,
    help="Adapt a run's weights to the prompt first: N passes of dynamic evaluation "
    "(the model learns the prompt's names and style; 0: off).",
)
@add_options(server_options())
def generate(source, prompt, length, temperature, top_k, top_p, beam, seed, adapt, **server):
    """Continue PROMPT with a run's model or an exported SavedModel (SOURCE).

    The state is carried one step per new character; the same seed gives the
    same text. With --beam W the W-beam most likely continuation is printed
    (sampling options are ignored). With --adapt N a run's model first
    learns the prompt (N passes of dynamic evaluation; its saved weights are
    not changed).
    """
    import tensorflow as tf

    from apps.textgen import decoding
    from apps.textgen import export as textgen_export

    with input_errors():
        generate_fn, prime, step, vocab = _open(source, adapt, prompt, **server)
    with input_errors():  # a server that fails mid-way: one line, exit 2
        if beam > 1:
            ids = decoding.beam_search(prime, step, prompt, beam, length)
            click.echo(prompt + vocab.decode(ids))
            return
        request = textgen_export.generate_request(
            [prompt],
            max_new_chars=length,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
        )
        out = generate_fn(**{k: tf.constant(v) for k, v in request.items()})
    click.echo(out["text"][0].numpy().decode("utf-8"))
