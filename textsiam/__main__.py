"""``python -m textsiam`` (and ``torchrun ... -m textsiam``): the command line."""

import sys

from textsiam.cli.main import main

sys.exit(main())
