"""Checks for parameters read from a model file; every error names the field."""

import numpy as np

from emcli.errors import ModelFileError, UsageError


def float_array(doc: dict, key: str) -> np.ndarray:
    """``doc[key]`` as a finite float64 array."""
    if key not in doc:
        raise ModelFileError(f"params.{key}: missing")
    try:
        value = np.asarray(doc[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(f"params.{key}: not an array of numbers") from None
    except OverflowError:
        raise ModelFileError(f"params.{key}: holds a number beyond the range of a float") from None
    if not np.all(np.isfinite(value)):
        raise ModelFileError(f"params.{key}: holds a non-finite number")
    return value


def check_shape(value: np.ndarray, shape: tuple, field: str) -> np.ndarray:
    if value.shape != tuple(shape):
        raise ModelFileError(f"{field}: expected shape {tuple(shape)}, found {value.shape}")
    return value


#: the largest location (mean, centre, medoid) or coefficient a model may hold: distances and
#: linear predictors are squared, and beyond this their squares leave float range (fit
#: refuses data of such magnitude too)
MAX_MAGNITUDE = 1e150


def check_magnitude(value: np.ndarray, field: str) -> np.ndarray:
    """``value`` unless an entry's magnitude exceeds MAX_MAGNITUDE."""
    if value.size and np.abs(value).max() > MAX_MAGNITUDE:
        raise ModelFileError(f"{field}: holds {np.abs(value).max():g}, beyond what the model's "
                             f"arithmetic can carry (at most {MAX_MAGNITUDE:g} in magnitude)")
    return value


def check_weights(doc: dict, key: str, k: int) -> np.ndarray:
    """Mixing weights: K non-negative numbers summing to one."""
    weights = check_shape(float_array(doc, key), (k,), f"params.{key}")
    if np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-9:
        raise ModelFileError(f"params.{key}: must be non-negative and sum to 1")
    return weights


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise UsageError(f"-k must be an integer of at least 1, got {k!r}")
    return int(k)
