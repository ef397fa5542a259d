"""Tests of edgeport.runtime."""
