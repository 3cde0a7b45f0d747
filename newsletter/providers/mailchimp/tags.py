"""Mailchimp's merge tags: Mailchimp fills ``*|...|*`` for each recipient on its side.

Kept apart from the provider so rendering with them needs no HTTP client.
"""

from __future__ import annotations

from newsletter.render.merge import IfFirstName, MergeTags

MAILCHIMP_TAGS = MergeTags(
    name="mailchimp",
    slots={
        "email": "*|EMAIL|*",
        "first_name": "*|FNAME|*",
        "greeting": "",
        "unsubscribe_url": "*|UNSUB|*",
        "preferences_url": "*|UPDATE_PROFILE|*",
        "archive_url": "*|ARCHIVE|*",
        "about_url": "*|ABOUT_LIST|*",
    },
    address_line="*|LIST:ADDRESSLINE|*",
    if_first_name=IfFirstName(start="*|IF:FNAME|*", otherwise="*|ELSE:|*", end="*|END:IF|*"),
    preview_block="*|MC_PREVIEW_TEXT|*",
)
