"""Rendering: an ``Issue`` becomes MJML, HTML and a plain-text part, compiled once.

``compile.compile_issue`` is the entry point; ``merge`` holds the providers' slot syntaxes.
"""
