"""edgeport.ir.passes"""
