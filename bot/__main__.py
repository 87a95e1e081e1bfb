"""`python -m bot` runs the bot; `python -m bot backup PATH` and friends are in bot.cli."""

import sys

from bot.cli import main

sys.exit(main(sys.argv[1:]))
