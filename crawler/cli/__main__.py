"""`python -m crawler.cli`: the `serpwatch` command (the package is imported once)."""

from crawler.cli import main

main(prog_name="serpwatch")
