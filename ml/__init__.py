"""Pure modelling functions: no orchestration, no warehouse paths."""
