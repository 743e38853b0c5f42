"""`python -m balise`: the same as the `balise` command."""

from balise.cli import main

main()
