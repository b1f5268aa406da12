"""The Telegram bot (python-telegram-bot v22): set up watches in a chat, get told, act in one tap.

``app.py`` is the component (started by the service, a notifier too); one
module per topic holds its handlers: ``onboarding`` (/start, /me, /forget,
/language), ``watch_setup`` (/watch), ``watch_list`` (/watches), ``info``
(/status, /history, /patterns, admin commands), ``activation_chat`` (pasted
links, "I activated it"). ``outbox`` sends; ``chats`` decides who may talk.
"""

from .app import TelegramBot, TelegramRefused

__all__ = ["TelegramBot", "TelegramRefused"]
