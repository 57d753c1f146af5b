"""``python -m qmix_tut.figures [--out DIR] [names...]``."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
