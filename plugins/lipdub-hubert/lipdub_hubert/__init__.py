"""lipdub-hubert: HuBERT/ContentVec audio extractors and the Wav2Lip variants that use them."""

from __future__ import annotations

__version__ = "0.1.0"
