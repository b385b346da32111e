"""`python -m february`: the same as the `february` command."""

from february.cli import main

main()
