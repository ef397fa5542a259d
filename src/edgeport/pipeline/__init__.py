"""edgeport.pipeline"""
