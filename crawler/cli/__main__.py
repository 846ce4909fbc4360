"""`python -m crawler.cli`: the `serpwatch` command, through its entry point."""

from crawler.entry import run

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages) runs nothing
    run()
