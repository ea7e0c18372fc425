"""``python -m fitray`` is the ``fitray`` command."""

from fitray.cli import main

main()
