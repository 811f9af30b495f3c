import sys

from kratom_tracker.cli import main

sys.exit(main())
