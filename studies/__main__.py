"""``python -m studies`` runs the ``robinsim`` command line."""
import sys

from studies.cli import main

sys.exit(main())
