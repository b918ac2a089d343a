"""Side-by-side benchmarks of NetRegressor.

Each scenario runs NetRegressor and the tools it competes with (a plain
PyTorch loop doing the same work, stock skorch, scikit-learn's
MLPRegressor) in one process, in turn, and prints NetRegressor's ratio to
each. Run ``python -m benchmarks`` from the repository root, or
``python -m benchmarks --quick`` for a smoke run; docs/performance.md shows
the results.
"""
