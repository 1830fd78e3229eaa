"""Maskers (``--masker``): where the redrawn face may show, from ONNX segmentation models."""
