"""``python -m qmix_tut`` is the same as the ``qmix-tut`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
