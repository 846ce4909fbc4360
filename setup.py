"""For scrapyd-deploy only: it builds the Scrapyd egg with `python setup.py bdist_egg`.

Everything (metadata, packages, package data such as the demo profile, the
`scrapy` entry point Scrapyd reads the settings from) is in pyproject.toml.
"""

from setuptools import setup

setup()
