"""``python -m app.cli``: the ``skilltrace`` command."""

from app.cli import main

main()
