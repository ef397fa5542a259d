"""edgeport.compress"""
