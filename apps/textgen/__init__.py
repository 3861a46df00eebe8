"""textgen: character-level text generation (in progress; its embedded corpus is in data/)."""
