"""edgeport.convert: ONNX / PyTorch -> TFLite (own IR, passes, global layout, FlatBuffer writer), ONNX, OpenVINO.

>>> from edgeport.convert import convert
>>> report = convert("model.onnx", "model.tflite", input_shapes={"x": [1, 3, 224, 224]})
>>> report.transposes_result, report.verified
"""

from edgeport.convert.api import check_onnx, convert, onnx_to_tflite
from edgeport.convert.report import ConversionReport

__all__ = ["convert", "check_onnx", "onnx_to_tflite", "ConversionReport"]
