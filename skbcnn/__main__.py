"""``python -m skbcnn``: the command line of :mod:`skbcnn.cli`."""

import sys

from .cli import main

sys.exit(main())
