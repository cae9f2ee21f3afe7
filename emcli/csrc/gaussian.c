/*
 * gaussian_pass(dgemm, X, centre, kind, A, offsets, stats, row_ll) -> far rows
 *   The E-step of a Gaussian mixture over the complete rows X (N, D), float64, C-contiguous:
 *   stats (P, K) is overwritten with sum_n design(x_n)' r_n (the weighted second moments, first
 *   moments and totals, see design.c) and row_ll (N,) with log p(x_n).  A (P, K) holds the
 *   distance coefficients and offsets (K,) the log-density offsets (see rows.c); dgemm is
 *   scipy.linalg.cython_blas's capsule.  Rows whose distances overflow add nothing to stats,
 *   get row_ll NaN and are counted, for the caller to redo.
 *
 * The rows go through in blocks small enough that their design rows stay in the core's own
 * cache between the two products that use them, so the pass reads X once and otherwise runs
 * from cache: the NumPy form of the same E-step writes and reads the (N, P) design through
 * the shared cache, which two threads then contend for.
 */
#include "kernels.h"

typedef void dgemm_t(char *transa, char *transb, int *m, int *n, int *k, double *alpha,
                     double *a, int *lda, double *b, int *ldb, double *beta, double *c, int *ldc);

/* design rows per block: about 128 KiB of them, so that they and the block's distances stay
 * in a core's L2 cache */
#define BLOCK_BYTES (128 * 1024)

static Py_ssize_t pass(dgemm_t *dgemm, const double *X, const double *centre, Py_ssize_t n,
                       Py_ssize_t d, int kind, int p, int k, double *A, const double *offsets,
                       double *stats, double *ll, double *F, double *Q, int block)
{
    double one = 1.0, zero = 0.0;
    char no = 'N', yes = 'T';
    Py_ssize_t far = 0;
    memset(stats, 0, (size_t)p * (size_t)k * sizeof(double));
    for (Py_ssize_t start = 0; start < n; start += block) {
        int rows = (int)(n - start < block ? n - start : block);
        design_rows(X + start * d, centre, rows, d, kind, p, F);
        /* column-major view: Q' (k, rows) = A' (k, p) F' (p, rows) */
        dgemm(&no, &no, &k, &rows, &p, &one, A, &k, F, &p, &zero, Q, &k);
        Py_ssize_t lost = gaussian_block(Q, offsets, rows, k, ll + start);
        if (lost) {  /* out of the sums: zero weights, and zero design rows, which hold inf */
            far += lost;
            for (int i = 0; i < rows; i++)
                if (isnan(ll[start + i])) {
                    memset(Q + (Py_ssize_t)i * k, 0, (size_t)k * sizeof(double));
                    memset(F + (Py_ssize_t)i * p, 0, (size_t)p * sizeof(double));
                }
        }
        /* stats' (k, p) += Q' (k, rows) F (rows, p) */
        dgemm(&no, &yes, &k, &p, &rows, &one, Q, &k, F, &p, &one, stats, &k);
    }
    return far;
}

PyObject *kernel_gaussian_pass(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *capsule, *objects[6];
    int kind;
    if (!PyArg_ParseTuple(args, "OOOiOOOO", &capsule, &objects[0], &objects[1], &kind, &objects[2],
                          &objects[3], &objects[4], &objects[5]))
        return NULL;
    dgemm_t *dgemm = PyCapsule_IsValid(capsule, PyCapsule_GetName(capsule))
                         ? (dgemm_t *)PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule)) : NULL;
    if (dgemm == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "gaussian_pass: dgemm must be scipy's cython_blas capsule");
        return NULL;
    }
    static const char *const names[6] = {"X", "centre", "A", "offsets", "stats", "row_ll"};
    static const int writable[6] = {0, 0, 0, 0, 1, 1}, ndims[6] = {2, 1, 2, 1, 2, 1};
    Py_buffer views[6];
    if (kernel_buffers(objects, views, 6, names, writable, ndims, -1) < 0)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = views[0].shape[0], d = views[0].shape[1];
    Py_ssize_t p = views[2].shape[0], k = views[2].shape[1];
    if (design_width(kind, d) == 0 || views[1].shape[0] != d || p != design_width(kind, d) || k < 1 ||
        views[3].shape[0] != k || views[4].shape[0] != p || views[4].shape[1] != k ||
        views[5].shape[0] != n || p > INT32_MAX / 8 || k > INT32_MAX / 8) {
        PyErr_SetString(PyExc_ValueError, "gaussian_pass: array shapes do not agree");
        goto done;
    }
    int block = (int)(BLOCK_BYTES / (8 * p));
    block = block < 8 ? 8 : block;
    double *F = malloc((size_t)block * (size_t)p * sizeof(double));
    double *Q = malloc((size_t)block * (size_t)k * sizeof(double));
    if (F == NULL || Q == NULL) {
        free(F); free(Q);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t far;
    Py_BEGIN_ALLOW_THREADS
    far = pass(dgemm, views[0].buf, views[1].buf, n, d, kind, (int)p, (int)k, views[2].buf,
               views[3].buf, views[4].buf, views[5].buf, F, Q, block);
    Py_END_ALLOW_THREADS
    free(F); free(Q);
    result = PyLong_FromSsize_t(far);
done:
    kernel_release(views, 6);
    return result;
}
