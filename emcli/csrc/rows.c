/*
 * Responsibilities from log-probabilities, row by row: the E-step's log-sum-exp in one pass
 * over each block of rows, where NumPy needs eight (max, subtract, exp, sum, divide, log...).
 *
 * normalize_rows(log_joint, row_ll)
 *   log_joint (N, K) holds log p(x_n, z_n = k) and is overwritten with p(z_n = k | x_n);
 *   row_ll (N,) receives log p(x_n).  A row whose every entry is -inf gets equal
 *   responsibilities and log p(x_n) = -inf; a row holding NaN or +inf becomes NaN.
 *
 * gaussian_block (for gaussian.c): squared Mahalanobis distances q_nk to log p(x_n, z_n = k) =
 *   offsets_k - max(q_nk, 0) / 2 (rounding can take a row at a mean a hair below zero),
 *   normalised as above.  A row with a distance that is not finite (beyond float range) is
 *   left to the caller: its responsibilities and row_ll are NaN, and such rows are counted.
 */
#include "kernels.h"

#include <float.h>

#define BLOCK 256

/* exp(x) for x <= 0, -inf or NaN, four at a time, to 1 ulp: 2^n p(r) with x = n log 2 + r,
 * |r| <= log(2) / 2, p the Taylor polynomial of degree 13, and 2^n applied in two halves so
 * that subnormal results come out right.  glibc's scalar exp costs four times as much. */
static inline v4d exp_nonpositive(v4d x)
{
    const v4d lowest = {-746.0, -746.0, -746.0, -746.0};
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
    const v4i below = x < lowest;               /* false for NaN, which stays NaN */
    x = (v4d)(((v4i)x & ~below) | ((v4i)lowest & below));
    const v4d t = x * 1.4426950408889634 + shifter;
    const v4d n = t - shifter;
    v4d r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    static const double taylor[] = {
        1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
        1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
        1.0 / 6.0, 0.5, 1.0, 1.0};
    v4d p = r * taylor[0] + taylor[1];
    for (int i = 2; i < 14; i++)
        p = p * r + taylor[i];
    const v4d shift = {shifter, shifter, shifter, shifter};
    const v4i whole = (v4i)t - (v4i)shift, half = whole >> 1;
    return p * (v4d)((half + 1023) << 52) * (v4d)((whole - half + 1023) << 52);
}

/* exp of the n values at x, in place (each x <= 0, -inf or NaN). */
static inline void exp_all(double *x, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d v;
        memcpy(&v, x + i, sizeof v);
        v = exp_nonpositive(v);
        memcpy(x + i, &v, sizeof v);
    }
    if (i < n) {
        v4d v = {0};
        memcpy(&v, x + i, (size_t)(n - i) * sizeof(double));
        v = exp_nonpositive(v);
        memcpy(x + i, &v, (size_t)(n - i) * sizeof(double));
    }
}

/* Lanes where mask is set from a, the others from b. */
static inline v4d blend(v4i mask, v4d a, v4d b)
{
    return (v4d)(((v4i)a & mask) | ((v4i)b & ~mask));
}

/* The largest of the k values at row (NaN ignored), and in *nan whether one is NaN. */
static inline double row_max(const double *row, Py_ssize_t k, int *nan)
{
    v4d top = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    v4i bad = {0};
    Py_ssize_t j = 0;
    for (; j + 4 <= k; j += 4) {
        v4d x;
        memcpy(&x, row + j, sizeof x);
        top = blend(x > top, x, top);
        bad |= x != x;
    }
    double most = top[0] > top[1] ? top[0] : top[1];
    most = top[2] > most ? top[2] : most;
    most = top[3] > most ? top[3] : most;
    int any = (bad[0] | bad[1] | bad[2] | bad[3]) != 0;
    for (; j < k; j++) {
        most = row[j] > most ? row[j] : most;
        any |= isnan(row[j]);
    }
    *nan = any;
    return most;
}

/* row (k values) times factor, in place, after adding shift: (row + shift) * factor. */
static inline void row_affine(double *row, Py_ssize_t k, double shift, double factor)
{
    Py_ssize_t j = 0;
    for (; j + 4 <= k; j += 4) {
        v4d x;
        memcpy(&x, row + j, sizeof x);
        x = (x + shift) * factor;
        memcpy(row + j, &x, sizeof x);
    }
    for (; j < k; j++)
        row[j] = (row[j] + shift) * factor;
}

/* Sum of the k values at row, four running sums then their total. */
static inline double row_sum(const double *row, Py_ssize_t k)
{
    v4d acc = {0};
    Py_ssize_t j = 0;
    for (; j + 4 <= k; j += 4) {
        v4d x;
        memcpy(&x, row + j, sizeof x);
        acc += x;
    }
    double total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; j < k; j++)
        total += row[j];
    return total;
}

/* Rows [0, n) of v (n, k), n <= BLOCK, log p(x, z = k) in, responsibilities out, log p(x) into
 * ll. */
MULTIVERSION
static void softmax_block(double *v, Py_ssize_t n, Py_ssize_t k, double *ll)
{
    double top[BLOCK];
    for (Py_ssize_t i = 0; i < n; i++) {
        int nan;
        top[i] = row_max(v + i * k, k, &nan);
        if (nan || top[i] == INFINITY)
            top[i] = NAN;
        else if (top[i] != -INFINITY)
            row_affine(v + i * k, k, -top[i], 1.0);
    }
    exp_all(v, n * k);
    for (Py_ssize_t i = 0; i < n; i++) {
        double *row = v + i * k;
        if (isnan(top[i]) || top[i] == -INFINITY) {
            const double fill = isnan(top[i]) ? NAN : 1.0 / (double)k;
            for (Py_ssize_t j = 0; j < k; j++)
                row[j] = fill;
            ll[i] = top[i];
            continue;
        }
        /* the top entry contributes exp(0) = 1, so total >= 1 */
        const double total = row_sum(row, k);
        row_affine(row, k, 0.0, 1.0 / total);
        ll[i] = top[i] + log(total);
    }
}

/* softmax_block over any number of rows. */
static void softmax_rows(double *v, Py_ssize_t n, Py_ssize_t k, double *ll)
{
    for (Py_ssize_t start = 0; start < n; start += BLOCK)
        softmax_block(v + start * k, n - start < BLOCK ? n - start : BLOCK, k, ll + start);
}

/* Rows [0, n) of q (n, k): squared distances to log p(x, z = k), then softmax_rows; rows with a
 * distance that is not finite are NaN.  Returns their count. */
MULTIVERSION
Py_ssize_t gaussian_block(double *q, const double *offsets, Py_ssize_t n, Py_ssize_t k,
                                 double *ll)
{
    const v4d zero = {0}, half = {0.5, 0.5, 0.5, 0.5}, largest = {DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX};
    Py_ssize_t far = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double *row = q + i * k;
        v4i finite = {-1, -1, -1, -1};  /* |q| <= DBL_MAX is false for inf and NaN */
        Py_ssize_t j = 0;
        for (; j + 4 <= k; j += 4) {
            v4d x, o;
            memcpy(&x, row + j, sizeof x);
            memcpy(&o, offsets + j, sizeof o);
            finite &= (x <= largest) & (x >= -largest);
            x = o - half * blend(x > zero, x, zero);
            memcpy(row + j, &x, sizeof x);
        }
        int ok = (finite[0] & finite[1] & finite[2] & finite[3]) != 0;
        for (; j < k; j++) {
            ok &= isfinite(row[j]);
            row[j] = offsets[j] - 0.5 * (row[j] > 0.0 ? row[j] : 0.0);
        }
        if (!ok) {
            far++;
            for (j = 0; j < k; j++)
                row[j] = NAN;
        }
    }
    softmax_rows(q, n, k, ll);
    return far;
}

PyObject *kernel_normalize_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1]))
        return NULL;
    static const char *const names[2] = {"log_joint", "row_ll"};
    static const int writable[2] = {1, 1}, ndims[2] = {2, 1};
    Py_buffer views[2];
    if (kernel_buffers(objects, views, 2, names, writable, ndims, -1) < 0)
        return NULL;
    Py_ssize_t n = views[0].shape[0], k = views[0].shape[1];
    PyObject *result = NULL;
    if (views[1].shape[0] != n || k < 1) {
        PyErr_SetString(PyExc_ValueError, "normalize_rows: array shapes do not agree");
    } else {
        Py_BEGIN_ALLOW_THREADS
        softmax_rows(views[0].buf, n, k, views[1].buf);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    kernel_release(views, 2);
    return result;
}
