"""``rnnkit serving``: check that TF Serving will serve an export; example requests."""

import json
import sys
from pathlib import Path

import click

from rnnkit.app import InputError, input_errors


@click.group(name="serving", context_settings={"help_option_names": ["-h", "--help"]})
def group() -> None:
    """TF Serving: preflight checks and example requests."""


@group.command()
@click.argument(
    "saved_models", type=click.Path(path_type=Path), default=Path("saved_models"), required=False
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
def check(saved_models, as_json):
    """Will `tensorflow_model_server --model_config_file=SAVED_MODELS/models.config` serve it?

    Parses models.config with TF Serving's protos, checks every version folder,
    loads each served version with the session loader (tag serve), checks its
    signatures and ops, and replays its warmup records. One line per check and
    a verdict; exit 0 when TF Serving will serve every model, 1 when not.
    SAVED_MODELS may also be one version folder.
    """
    from rnnkit.serving import check as checks_

    with input_errors():
        if not saved_models.exists():
            raise InputError(f"{saved_models} does not exist")
        if (saved_models / "saved_model.pb").exists():
            results = checks_.check_version(saved_models)
        elif saved_models.is_dir():
            results = checks_.check_models_config(saved_models)
        else:
            raise InputError(f"{saved_models} is neither a saved_models folder nor a version")
    ok = checks_.passed(results)
    if as_json:
        document = {
            "path": str(saved_models),
            "ok": ok,
            "checks": [
                {"subject": c.subject, "check": c.check, "ok": c.ok, "detail": c.detail}
                for c in results
            ],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        for c in results:
            click.echo(c.line())
        click.echo(
            "verdict: TF Serving will serve it"
            if ok
            else f"verdict: TF Serving will not serve it ({sum(c.ok is False for c in results)} "
            "failed)"
        )
    sys.exit(0 if ok else 1)
