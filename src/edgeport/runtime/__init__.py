"""edgeport.runtime"""
