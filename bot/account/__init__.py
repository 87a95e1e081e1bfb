"""The user's own AniLibria account in the bot: linking it, its sealed token, its favorites.

:class:`~bot.account.links.Accounts` is the one place a stored token is opened; the chat side
(/login, /favorites...) is in ``bot/handlers/account.py`` and ``bot/handlers/favorites.py``, the
sealed rows in ``storage/sessions.py``.
"""
