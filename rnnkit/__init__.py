"""rnnkit: recurrent-network application suite on Keras 3 and TensorFlow."""

import os

# Keras picks its backend at first import: rnnkit runs on TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
