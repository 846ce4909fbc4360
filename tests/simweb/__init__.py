"""A second simulated web (brands, results and sites) to red-team the scorer."""
