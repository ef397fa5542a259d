"""edgeport.model"""
