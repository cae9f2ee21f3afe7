"""Drawing fitted models (``emtool plot``) and select-k tables.  Every module imports matplotlib
only inside the functions that draw, so that importing this package stays cheap and a missing
matplotlib is one line (``figure.require_matplotlib``), not a traceback."""

#: what ``emtool plot --kind`` draws (emcli.plot.kinds says how)
KINDS = ("trace", "classification", "uncertainty", "density", "bic")
