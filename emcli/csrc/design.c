/*
 * design(X, centre, kind, out)
 *   X (N, D) and centre (D,) float64, out (N, P) float64, all C-contiguous.  Writes each row's
 *   design for the Gaussian E-step, out_n = [s(x_n - c), x_n - c, 1], where s is the second-moment
 *   feature of the kind: 0, the upper triangle of (x - c)(x - c)' row by row (P = D(D+1)/2 + D
 *   + 1); 1, the squares (P = 2D + 1); 2, the squared norm (P = D + 2).
 *
 * With it, one product out @ A gives every row's squared Mahalanobis distance to every component
 * (A stacks the packed precisions, -2 P_k m_k and m_k'P_k m_k), and one product out' @ W gives
 * the weighted second moments, first moments and weight totals: the E-step of a Gaussian
 * mixture is two GEMMs around this pass, whose rows stay in cache between their two uses.
 */
#include "kernels.h"

/* the widest rows triangle_rows takes */
#define TRIANGLE_MAX 64

/* design_rows for kind 0 and 2 <= d <= TRIANGLE_MAX, four products at a time: each stretch
 * x_a x[a:d] of the triangle is written in whole vectors, the last one running up to three
 * values into the next stretch (or, after the last, into x - c), which is written after it. */
MULTIVERSION
static void triangle_rows(const double *X, const double *c, Py_ssize_t n, Py_ssize_t d,
                                 Py_ssize_t stride, double *out)
{
    double x[TRIANGLE_MAX + 4] = {0};  /* x - c, then zeros for the last vector's overrun */
    for (Py_ssize_t i = 0; i < n; i++) {
        double *o = out + i * stride;
        for (Py_ssize_t j = 0; j < d; j++)
            x[j] = X[i * d + j] - c[j];
        for (Py_ssize_t a = 0; a < d; a++) {
            for (Py_ssize_t b = a; b < d; b += 4) {
                v4d v;
                memcpy(&v, x + b, sizeof v);
                v = x[a] * v;
                memcpy(o + (b - a), &v, sizeof v);
            }
            o += d - a;
        }
        memcpy(o, x, (size_t)d * sizeof(double));
        o[d] = 1.0;
    }
}

/* The design rows out (n, p) of the rows X (n, d) about c, one every stride values; see above. */
MULTIVERSION
void design_rows(const double *X, const double *c, Py_ssize_t n, Py_ssize_t d, int kind,
                 Py_ssize_t p, Py_ssize_t stride, double *out)
{
    if (kind == 0 && d >= 2 && d <= TRIANGLE_MAX) {
        triangle_rows(X, c, n, d, stride, out);
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double *o = out + i * stride, *x = o + p - d - 1;  /* x - c is written first, in place */
        for (Py_ssize_t j = 0; j < d; j++)
            x[j] = X[i * d + j] - c[j];
        x[d] = 1.0;
        if (kind == 0) {
            for (Py_ssize_t a = 0; a < d; a++) {
                const double xa = x[a];
                for (Py_ssize_t b = a; b < d; b++)
                    *o++ = xa * x[b];
            }
        } else if (kind == 1) {
            for (Py_ssize_t j = 0; j < d; j++)
                o[j] = x[j] * x[j];
        } else {
            double total = 0.0;
            for (Py_ssize_t j = 0; j < d; j++)
                total += x[j] * x[j];
            o[0] = total;
        }
    }
}

Py_ssize_t design_width(int kind, Py_ssize_t d)
{
    return kind == 0 ? d * (d + 1) / 2 + d + 1 : kind == 1 ? 2 * d + 1 : kind == 2 ? d + 2 : 0;
}

PyObject *kernel_design(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *objects[3];
    int kind;
    if (!PyArg_ParseTuple(args, "OOiO", &objects[0], &objects[1], &kind, &objects[2]))
        return NULL;
    static const char *const names[3] = {"X", "centre", "out"};
    static const int writable[3] = {0, 0, 1}, ndims[3] = {2, 1, 2};
    Py_buffer views[3];
    if (kernel_buffers(objects, views, 3, names, writable, ndims, -1) < 0)
        return NULL;
    Py_ssize_t n = views[0].shape[0], d = views[0].shape[1], p = views[2].shape[1];
    PyObject *result = NULL;
    if (design_width(kind, d) == 0 || views[1].shape[0] != d || views[2].shape[0] != n ||
        p != design_width(kind, d)) {
        PyErr_SetString(PyExc_ValueError, "design: array shapes do not agree");
    } else {
        Py_BEGIN_ALLOW_THREADS
        design_rows(views[0].buf, views[1].buf, n, d, kind, p, p, views[2].buf);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    kernel_release(views, 3);
    return result;
}
