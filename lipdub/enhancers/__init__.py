"""Face restorers (``--enhancer``): GFPGAN, CodeFormer, GPEN and RestoreFormer as ONNX."""
