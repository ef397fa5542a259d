"""edgeport.hub"""
