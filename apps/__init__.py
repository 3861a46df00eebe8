"""rnnkit's applications, one package each."""
