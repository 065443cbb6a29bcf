"""Expectation suites as code, one module per table family."""
