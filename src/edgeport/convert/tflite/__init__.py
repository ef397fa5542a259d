"""TFLite backend of the converter: FlatBuffer helpers, the op table and the IR -> ModelT writer.

Low-level helpers (for compress): :func:`read_model`, :func:`write_model`,
:func:`opcode_index`, :func:`add_buffer`, :func:`add_tensor`, :func:`add_operator`.
"""

from edgeport.convert.tflite.flatbuffer import (add_buffer, add_operator, add_tensor, model_to_bytes, opcode_index,
                                                read_model, schema, write_model)

__all__ = ["read_model", "write_model", "model_to_bytes", "opcode_index", "add_buffer", "add_tensor",
           "add_operator", "schema"]
