"""`python -m uploader` is the `leadup` command."""

from uploader.cli import main

main()
