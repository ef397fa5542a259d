"""edgeport.convert.tflite"""
