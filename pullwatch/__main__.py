import sys

from pullwatch.cli import main

sys.exit(main())
