"""speechtag: frame-level tagging of speech (phones and words) with rnnkit RNNs."""
