"""emtool: latent-variable models fit by Expectation-Maximization, from the command line."""

__version__ = "0.1.0"
