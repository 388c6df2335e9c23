"""Shared test helpers, imported as ``tests.helpers.<module>`` (the repository root is on pytest's ``pythonpath``):

- ``fixtures``: the tiny random BERT, sample writers, skip marks for optional weights, and the shared tolerances
  ``BATCHED`` / ``RELOADED`` with the reason for their size;
- ``eval_helpers``: the tolerances of the eval tests (``SAME_RATIO``, ``SAME_STATISTIC``);
- ``title_body``: FNC-1-like title/body files.
"""
