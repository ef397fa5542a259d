"""Tests of edgeport.model."""
