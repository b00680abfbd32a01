import sys

from vidrec.cli import main

sys.exit(main())
