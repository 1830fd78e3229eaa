"""The ONNX Runtime backend shared by every ONNX model (restorers, maskers, wav2lip-onnx)."""
