"""edgeport.convert"""
