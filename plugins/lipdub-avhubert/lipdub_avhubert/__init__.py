"""AV-HuBERT for lipdub in plain PyTorch: the AVSu / AVSm / AVSv metrics of Yaman et al. (2024).

Modules: :mod:`.model` (the network), :mod:`.checkpoint` (safe loading of the public files),
:mod:`.audio` and :mod:`.mouth` (the official inputs), :mod:`.metrics` (``lipdub eval``),
:mod:`.sync_loss` (``lipdub train generator --expert avhubert``).
"""

__version__ = "0.1.0"
