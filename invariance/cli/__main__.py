"""``python -m invariance.cli``: the ``invariance`` command."""

import sys

from . import main

sys.exit(main())
