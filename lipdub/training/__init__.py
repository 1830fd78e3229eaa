"""Training the seed paper's networks: preprocessing, the SyncNet expert and the generator.

Architectures live in :mod:`lipdub.models` (and the ``lipdub-hubert`` plugin for the
attention audio encoder); this package only holds the data pipeline and the training loops.
"""
