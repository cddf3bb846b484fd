"""``python -m serenity``: the same as the ``serenity`` console script."""

import sys

from serenity.cli import main

sys.exit(main())
