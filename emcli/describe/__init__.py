"""What ``emtool describe`` says about a model file: ``summary.facts`` gathers the facts of a
loaded model as a plain dict of JSON values; ``render`` lays them out as plain text, as rich
tables for a terminal, or as JSON."""
