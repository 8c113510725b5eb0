"""Verbatim: answers questions about news articles with verbatim quotes and their sources.

The bot's rooms: `bot.engine` (question in, `Answer` out), `bot.state` (the database), `bot.chat`
(the Telegram application), and the front ends `bot.cli` (`python -m bot`) and `bot.console`.
Each room's `__init__` names its public API; code outside a room imports only that.
"""

__all__: list[str] = []
