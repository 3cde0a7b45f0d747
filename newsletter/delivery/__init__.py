"""Turning a compiled issue into messages and delivering them.

``message`` builds the MIME skeleton once per campaign and fills it per recipient,
``smtp`` and ``maildir`` deliver, ``dkim`` signs (``canonical`` gives the bytes it
covers, ``dkim_keys`` reads its keys), ``engine`` runs a resumable send.
"""
