"""`python -m snnsim ...` runs the `snnsim` command line (the same as the installed script)."""

import sys

from snnsim.cli import main

sys.exit(main())
