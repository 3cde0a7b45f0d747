"""The database: subscribers, topics, the consent log, campaigns and deliveries.

SQLAlchemy Core over SQLite by default (``NEWSLETTER_DATABASE_URL``); the same code
takes a PostgreSQL URL. ``tables`` holds the schema, ``database`` opens engines.
"""
