"""Errors and exit codes shared by the library and the CLI; depends on nothing of rnnkit's."""

# "Restart me": the exit code of a worker that saved and stopped because of
# SIGTERM, or that lost a peer. The Kubeflow training operator retries 138
# (128 + SIGUSR1, its code for user-defined retryable errors) under
# ``restartPolicy: ExitCode``, as it retries 137 (SIGKILL) and 143 (SIGTERM).
RESTART_EXIT_CODE = 138


class InputError(ValueError):
    """Bad input from the user (options, data, paths): a one-line message, exit code 2."""


def first_line(error: BaseException) -> str:
    """An error's message on one line, without a TF op's name, cut to 300 characters."""
    message = " ".join((getattr(error, "message", None) or str(error)).split())
    if message.startswith("{{function_node"):
        message = message.split("}}", 1)[-1].strip()
    return (message or type(error).__name__)[:300]
