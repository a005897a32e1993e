"""thpmodel."""
