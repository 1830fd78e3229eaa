"""``python -m lipdub``: the ``lipdub`` command."""

import sys

from lipdub.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
