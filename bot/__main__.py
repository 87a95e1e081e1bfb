"""`python -m bot`"""

import sys

from bot.app import main

sys.exit(main())
