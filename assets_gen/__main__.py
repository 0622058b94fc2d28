"""``python -m assets_gen gen ...``: the generator CLI without the server package."""

import sys

from .cli import main

sys.exit(main())
