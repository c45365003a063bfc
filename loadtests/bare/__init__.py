"""The ceiling the API benchmark compares against: plain Django, one primary-key query, JSON out."""
