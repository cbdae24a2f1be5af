"""``python -m kuzet``: the same as the ``kuzet`` command."""

from kuzet.cli import main

main()
