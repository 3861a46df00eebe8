"""``python -m rnnkit.kernels.native [--force]`` builds the native kernels."""

import sys

from rnnkit.kernels.native import main

sys.exit(main())
