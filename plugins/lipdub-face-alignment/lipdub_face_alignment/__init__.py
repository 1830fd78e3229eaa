"""lipdub's face-alignment tracker: S3FD face boxes and FAN 68-point landmarks."""

__version__ = "0.1.0"
