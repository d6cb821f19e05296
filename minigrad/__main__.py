"""`python -m minigrad COMMAND`: see `python -m minigrad --help`."""
import sys

from minigrad.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
