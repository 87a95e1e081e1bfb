"""How the bot speaks, shared by its notices and its replies: callback data of every button,
the gettext catalogues, text within Telegram's limits, names in the reader's language, times
in the chat's zone."""
