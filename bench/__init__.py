"""Resonant's benchmarks: `python -m bench [engine|service|prompt|wav|mp3|rss|stems ...]`.

Budgets are ratios against a peer measured side by side in the same run (DESIGN.md §6); every
figure is a median of repeated runs. These are benchmarks, not tests: they print PASS / MISS
and always exit 0.
"""
