"""Notifications: the bell in the app, and messages by SMS and e-mail, each event told once."""
