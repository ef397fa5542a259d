"""edgeport.tasks"""
