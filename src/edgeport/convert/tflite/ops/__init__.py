"""edgeport.convert.tflite.ops"""
