"""Scheduled crawls, re-checks after notices and reminders (one scheduler process).

Not built yet: crawls and captures are started from the CLI (``kuzet crawl``,
``kuzet captures run``) until the scheduler lands.
"""
