"""`python -m crawler.cli`: the `serpwatch` command (the package is imported once)."""

from crawler.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages) runs nothing
    main(prog_name="serpwatch")
