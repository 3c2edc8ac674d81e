"""`python -m octopus_async.cli`: the `octopus-async` command."""

import sys

from . import main

sys.exit(main())
