"""Who may use the bot, in which language, and which person a chat books for.

A chat may use the bot when it is the admin's, or on ``MTA_TELEGRAM_ALLOWED_CHAT_IDS``,
or the admin let it in with ``/allow``; ``/deny`` shuts a chat out (also one from
the setting). A stranger gets one polite answer and is never stored.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..models import Chat, Person


class ChatBook:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions

    @property
    def admin(self) -> int | None:
        return self.settings.telegram_admin_chat_id

    def is_admin(self, chat_id: int) -> bool:
        return self.admin is not None and chat_id == self.admin

    def may_use(self, chat_id: int) -> bool:
        if self.is_admin(chat_id):
            return True
        with self.sessions() as session:
            chat = session.get(Chat, chat_id)
        if chat is not None and chat.allowed is not None:
            return chat.allowed
        return chat_id in self.settings.telegram_allowed_chat_ids

    def set_allowed(self, chat_id: int, allowed: bool) -> None:
        with self.sessions.begin() as session:
            chat = session.get(Chat, chat_id)
            if chat is None:
                session.add(Chat(chat_id=chat_id, allowed=allowed))
            else:
                chat.allowed = allowed

    def language(self, chat_id: int, client_language: str | None = None) -> str:
        """The chosen language, else the Telegram client's (German for ``de*``, English otherwise)."""
        with self.sessions() as session:
            chat = session.get(Chat, chat_id)
        if chat is not None and chat.language:
            return chat.language
        return "de" if (client_language or "").lower().startswith("de") else "en"

    def set_language(self, chat_id: int, language: str) -> None:
        with self.sessions.begin() as session:
            self._chat(session, chat_id).language = language

    def quiet_hours(self, chat_id: int) -> str | None:
        """The chat's own quiet hours ("" never quiet), or None: the setting decides."""
        with self.sessions() as session:
            chat = session.get(Chat, chat_id)
        return chat.quiet_hours if chat is not None else None

    def set_quiet_hours(self, chat_id: int, window: str | None) -> None:
        with self.sessions.begin() as session:
            self._chat(session, chat_id).quiet_hours = window

    def quiet_hours_of(self, person_key: str) -> str | None:
        """The quiet hours of the chat that tells ``person_key`` (None: the setting decides)."""
        with self.sessions() as session:
            chat = self._chat_of_person(session, person_key)
            return chat.quiet_hours if chat is not None else None

    @staticmethod
    def _chat_of_person(session: Session, person_key: str) -> Chat | None:
        """The chat linked to the person, else the chat their row names (a person added before their chat)."""
        chat = session.scalars(select(Chat).where(Chat.person_key == person_key)).first()
        if chat is not None:
            return chat
        person = session.scalars(select(Person).where(Person.key == person_key)).first()
        return session.get(Chat, person.chat_id) if person is not None and person.chat_id is not None else None

    def person_key(self, chat_id: int) -> str | None:
        with self.sessions() as session:
            chat = session.get(Chat, chat_id)
            if chat is None or chat.person_key is None:
                return None
            exists = session.scalar(select(Person.id).where(Person.key == chat.person_key))
            return chat.person_key if exists is not None else None

    def person(self, chat_id: int) -> Person | None:
        key = self.person_key(chat_id)
        if key is None:
            return None
        with self.sessions() as session:
            return session.scalars(select(Person).where(Person.key == key)).first()

    def taken(self, key: str, chat_id: int) -> bool:
        """Whether the person ``key`` already exists and is not this chat's: another chat's, or one added on
        the command line (whose e-mail a chat cannot prove to own)."""
        with self.sessions() as session:
            person = session.scalars(select(Person).where(Person.key == key)).first()
            other_chat = session.scalars(select(Chat).where(Chat.person_key == key, Chat.chat_id != chat_id)).first()
        return other_chat is not None or (person is not None and person.chat_id != chat_id)

    def link_person(self, chat_id: int, key: str, language: str) -> None:
        """Onboarding finished: the chat books for ``key``; notices use the language the chat spoke then
        (until /language changes it)."""
        with self.sessions.begin() as session:
            chat = self._chat(session, chat_id)
            chat.person_key, chat.consented_at, chat.blocked_at = key, time.time(), None
            chat.language = chat.language or language

    def chat_of(self, person_key: str) -> tuple[int, str] | None:
        """(chat id, language) to tell a person, or None: no chat, or they blocked the bot."""
        with self.sessions() as session:
            chat = self._chat_of_person(session, person_key)
            if chat is None:
                return None
            if chat.blocked_at is not None or not self.may_use(chat.chat_id):
                return None
            return chat.chat_id, chat.language or "de"

    def blocked(self, chat_id: int) -> None:
        """The person blocked the bot (403): no more sends until they write again."""
        with self.sessions.begin() as session:
            chat = session.get(Chat, chat_id)
            if chat is not None:
                chat.blocked_at = time.time()

    def unblocked(self, chat_id: int) -> None:
        """The person wrote again after blocking the bot: sends resume."""
        with self.sessions.begin() as session:
            chat = session.get(Chat, chat_id)
            if chat is not None and chat.blocked_at is not None:
                chat.blocked_at = None

    def forget(self, chat_id: int) -> None:
        """After /forget: the chat keeps only whether the admin let it in."""
        with self.sessions.begin() as session:
            chat = session.get(Chat, chat_id)
            if chat is not None:
                chat.person_key = chat.consented_at = chat.language = chat.quiet_hours = None

    def _chat(self, session: Session, chat_id: int) -> Chat:
        chat = session.get(Chat, chat_id)
        if chat is None:
            chat = Chat(chat_id=chat_id)
            session.add(chat)
        return chat
