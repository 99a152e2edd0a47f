"""``python -m jepa_studio`` is the ``jepa-studio`` command."""

import sys

from .cli import main

sys.exit(main())
