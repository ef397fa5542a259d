"""edgeport.assets"""
