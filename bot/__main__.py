"""Entry point: `python -m bot` (Telegram bot, or console without a token), `ask`, `console`."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
