"""edgeport.ir"""
