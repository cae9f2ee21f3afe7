"""Filling missing cells from a Gaussian mixture fit by EM: ``emtool impute``."""
