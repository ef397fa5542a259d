"""edgeport.bench"""
