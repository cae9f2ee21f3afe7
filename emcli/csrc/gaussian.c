/*
 * gaussian_pass(X, centre, kind, A, offsets, stats, row_ll) -> far rows
 *   The E-step of a Gaussian mixture over the complete rows X (N, D), float64, C-contiguous:
 *   stats (P, K) is overwritten with sum_n design(x_n)' r_n (the weighted second moments, first
 *   moments and totals, see design.c) and row_ll (N,) with log p(x_n).  A (P, K) holds the
 *   distance coefficients and offsets (K,) the log-density offsets (see rows.c).  Rows whose
 *   distances overflow add nothing to stats, get row_ll NaN and are counted, for the caller to
 *   redo.
 *
 * The rows go through in blocks of BLOCK whose design rows stay in the core's L1 cache between
 * the two products that use them, Q = F A (the distances) and stats += F' R (the moments), so the
 * pass reads X once and otherwise runs from cache.  The products are this file's own register
 * tiles rather than BLAS calls: at these shapes (K columns, a few dozen rows per block) a dgemm
 * call spends as long packing its operands as multiplying them, and the packing's traffic is
 * what two threads then contend for.  The operands are padded once per pass (P to a multiple of
 * TILE_ROWS with zero coefficients, K to a multiple of 4 with zero coefficients and -inf offsets,
 * which give zero responsibilities), so that the tiles need no edge cases.
 */
#include "kernels.h"

/* a tile is TILE_ROWS rows by two vectors (8 columns) of accumulators: 12 of the 16 vector
 * registers, enough independent sums to keep both FMA units busy */
#define TILE_ROWS 6
/* design rows per block, a multiple of TILE_ROWS: 24 rows of a 16-column full-covariance
 * design (156 padded columns) are 30 KiB */
#define BLOCK 24

/* Q (BLOCK, kp) = F (BLOCK, pp) A (pp, kp), kp a multiple of 4. */
MULTIVERSION
static void distances(const double *F, const double *A, int pp, int kp, double *Q)
{
    for (int r0 = 0; r0 < BLOCK; r0 += TILE_ROWS) {
        const double *f = F + r0 * pp;
        int c0 = 0;
        for (; c0 + 8 <= kp; c0 += 8) {
            /* the first column assigns the accumulators (zeroing them compiles to a string
             * store) */
            v4d acc[TILE_ROWS][2], lo = load4(A + c0), hi = load4(A + c0 + 4);
            for (int r = 0; r < TILE_ROWS; r++) {
                acc[r][0] = f[r * pp] * lo;
                acc[r][1] = f[r * pp] * hi;
            }
            for (int p = 1; p < pp; p++) {
                lo = load4(A + p * kp + c0);
                hi = load4(A + p * kp + c0 + 4);
                for (int r = 0; r < TILE_ROWS; r++) {
                    const double x = f[r * pp + p];
                    acc[r][0] += x * lo;
                    acc[r][1] += x * hi;
                }
            }
            for (int r = 0; r < TILE_ROWS; r++) {
                store4(Q + (r0 + r) * kp + c0, acc[r][0]);
                store4(Q + (r0 + r) * kp + c0 + 4, acc[r][1]);
            }
        }
        if (c0 < kp) {  /* the last four columns */
            v4d acc[TILE_ROWS], a = load4(A + c0);
            for (int r = 0; r < TILE_ROWS; r++)
                acc[r] = f[r * pp] * a;
            for (int p = 1; p < pp; p++) {
                a = load4(A + p * kp + c0);
                for (int r = 0; r < TILE_ROWS; r++)
                    acc[r] += f[r * pp + p] * a;
            }
            for (int r = 0; r < TILE_ROWS; r++)
                store4(Q + (r0 + r) * kp + c0, acc[r]);
        }
    }
}

/* S (pp, kp) += F' (pp, BLOCK) R (BLOCK, kp), pp a multiple of TILE_ROWS, kp of 4. */
MULTIVERSION
static void moments(const double *F, const double *R, int pp, int kp, double *S)
{
    for (int p0 = 0; p0 < pp; p0 += TILE_ROWS) {
        double *s = S + p0 * kp;
        int c0 = 0;
        for (; c0 + 8 <= kp; c0 += 8) {
            v4d acc[TILE_ROWS][2];
            for (int i = 0; i < TILE_ROWS; i++) {
                acc[i][0] = load4(s + i * kp + c0);
                acc[i][1] = load4(s + i * kp + c0 + 4);
            }
            for (int r = 0; r < BLOCK; r++) {
                const v4d lo = load4(R + r * kp + c0), hi = load4(R + r * kp + c0 + 4);
                const double *f = F + r * pp + p0;
                for (int i = 0; i < TILE_ROWS; i++) {
                    acc[i][0] += f[i] * lo;
                    acc[i][1] += f[i] * hi;
                }
            }
            for (int i = 0; i < TILE_ROWS; i++) {
                store4(s + i * kp + c0, acc[i][0]);
                store4(s + i * kp + c0 + 4, acc[i][1]);
            }
        }
        if (c0 < kp) {
            v4d acc[TILE_ROWS];
            for (int i = 0; i < TILE_ROWS; i++)
                acc[i] = load4(s + i * kp + c0);
            for (int r = 0; r < BLOCK; r++) {
                const v4d w = load4(R + r * kp + c0);
                const double *f = F + r * pp + p0;
                for (int i = 0; i < TILE_ROWS; i++)
                    acc[i] += f[i] * w;
            }
            for (int i = 0; i < TILE_ROWS; i++)
                store4(s + i * kp + c0, acc[i]);
        }
    }
}

/* The pass over X (n, d) with the padded coefficients Ap (pp, kp) and offsets op (kp,), into
 * the padded sums Sp (pp, kp), zeroed by the caller; F (BLOCK, pp), zeroed by the caller, and Q
 * (BLOCK, kp) are scratch.  Returns the far rows. */
static Py_ssize_t pass(const double *X, const double *centre, Py_ssize_t n, Py_ssize_t d,
                       int kind, int p, int pp, int kp, const double *Ap, const double *op,
                       double *Sp, double *ll, double *F, double *Q)
{
    Py_ssize_t far = 0;
    double block_ll[BLOCK];
    for (Py_ssize_t start = 0; start < n; start += BLOCK) {
        const int rows = (int)(n - start < BLOCK ? n - start : BLOCK);
        design_rows(X + start * d, centre, rows, d, kind, p, pp, F);
        if (rows < BLOCK)  /* the last block: zero design rows, which add nothing */
            memset(F + rows * pp, 0, (size_t)((BLOCK - rows) * pp) * sizeof(double));
        distances(F, Ap, pp, kp, Q);
        Py_ssize_t lost = gaussian_block(Q, op, rows, kp, block_ll);
        if (rows < BLOCK)  /* and zero weights, whatever A held */
            memset(Q + rows * kp, 0, (size_t)((BLOCK - rows) * kp) * sizeof(double));
        if (lost) {  /* out of the sums: zero weights, and zero design rows, which hold inf */
            far += lost;
            for (int i = 0; i < rows; i++)
                if (isnan(block_ll[i])) {
                    memset(Q + i * kp, 0, (size_t)kp * sizeof(double));
                    memset(F + i * pp, 0, (size_t)pp * sizeof(double));
                }
        }
        moments(F, Q, pp, kp, Sp);
        memcpy(ll + start, block_ll, (size_t)rows * sizeof(double));
    }
    return far;
}

PyObject *kernel_gaussian_pass(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *objects[6];
    int kind;
    if (!PyArg_ParseTuple(args, "OOiOOOO", &objects[0], &objects[1], &kind, &objects[2],
                          &objects[3], &objects[4], &objects[5]))
        return NULL;
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
        views[5].shape[0] != n || p > INT32_MAX / 64 || k > INT32_MAX / 64) {
        PyErr_SetString(PyExc_ValueError, "gaussian_pass: array shapes do not agree");
        goto done;
    }
    const Py_ssize_t pp = (p + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS, kp = (k + 3) / 4 * 4;
    double *Ap = calloc((size_t)(pp * kp), sizeof(double)), *Sp = calloc((size_t)(pp * kp), sizeof(double));
    double *op = malloc((size_t)kp * sizeof(double)), *Q = malloc((size_t)(BLOCK * kp) * sizeof(double));
    double *F = calloc((size_t)(BLOCK * pp), sizeof(double));
    if (Ap == NULL || Sp == NULL || op == NULL || Q == NULL || F == NULL) {
        PyErr_NoMemory();
        goto freed;
    }
    const double *A = views[2].buf, *offsets = views[3].buf;
    for (Py_ssize_t i = 0; i < p; i++)
        memcpy(Ap + i * kp, A + i * k, (size_t)k * sizeof(double));
    for (Py_ssize_t j = 0; j < kp; j++)
        op[j] = j < k ? offsets[j] : -INFINITY;
    Py_ssize_t far;
    Py_BEGIN_ALLOW_THREADS
    far = pass(views[0].buf, views[1].buf, n, d, kind, (int)p, (int)pp, (int)kp, Ap, op, Sp,
               views[5].buf, F, Q);
    Py_END_ALLOW_THREADS
    double *stats = views[4].buf;
    for (Py_ssize_t i = 0; i < p; i++)
        memcpy(stats + i * k, Sp + i * kp, (size_t)k * sizeof(double));
    result = PyLong_FromSsize_t(far);
freed:
    free(Ap); free(Sp); free(op); free(Q); free(F);
done:
    kernel_release(views, 6);
    return result;
}
