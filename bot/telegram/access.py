"""Who may use the bot: an allowlist of user and chat ids (empty means everyone), and admins."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update


@dataclass(frozen=True)
class Access:
    """The allowlist and the admins, from TELEGRAM_ALLOWED_IDS and TELEGRAM_ADMIN_IDS."""

    allowed: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    def allows(self, update: Update) -> bool:
        """Whether the update's user or chat is on the allowlist (admins always are)."""
        if not self.allowed:
            return True
        user = update.effective_user
        chat = update.effective_chat
        ids = {user.id if user else None, chat.id if chat else None}
        return bool(ids & (self.allowed | self.admins))

    def is_admin(self, update: Update) -> bool:
        """Whether the update comes from an admin user."""
        user = update.effective_user
        return user is not None and user.id in self.admins
