"""Allow `python -m amigo.cli`."""

from amigo.cli.main import main

main()
