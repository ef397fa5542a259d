"""Model builders for the benchmarks: a YOLOv8n-style detector in torch, and the light ONNX models."""

__all__ = []
