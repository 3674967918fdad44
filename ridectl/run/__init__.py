"""One run: produce rides, read them back, attach the acknowledgements, judge."""
