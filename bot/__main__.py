"""``python -m bot`` is the ``newsdesk`` command."""

import sys

from bot.cli import main

sys.exit(main())
