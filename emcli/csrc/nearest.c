/*
 * nearest(X, centres, labels, sums, counts) -> inertia
 *   X (N, D) and centres (K, D): C-contiguous float64.  Writes labels (N,) int64, the index of
 *   each row's nearest centre (the first on ties); when sums (K, D) and counts (K,) float64 are
 *   given, overwrites them with the per-cluster row sums and row counts.  Returns the inertia,
 *   the sum over rows of the squared distance to the nearest centre.
 *
 * Distances are summed as (x - c)^2, never expanded as |x|^2 - 2x'c + |c|^2, so there is no
 * cancellation and the data need no centring.  The distance loop works on tiles of ROWS rows
 * by CENTRES centres whose accumulators stay in vector registers.
 */
#include "kernels.h"

#define ROWS 6
#define CENTRES 8

/* Squared distances (ROWS, kpad) from the ROWS rows at x (ROWS, D) to the centres, stored
 * transposed and padded with infinities as ct (D, kpad), kpad a multiple of CENTRES. */
MULTIVERSION
static void tile_distances(const double *x, const double *ct, Py_ssize_t d, Py_ssize_t kpad,
                           double *out)
{
    for (Py_ssize_t c0 = 0; c0 < kpad; c0 += CENTRES) {
        /* the first column assigns the accumulators: zeroing them first compiled to a string
         * store that cost a quarter of the tile at D = 16 */
        v4d a[ROWS][2], lo = load4(ct + c0), hi = load4(ct + c0 + 4);
        for (int r = 0; r < ROWS; r++) {
            const v4d dlo = x[r * d] - lo, dhi = x[r * d] - hi;
            a[r][0] = dlo * dlo;
            a[r][1] = dhi * dhi;
        }
        for (Py_ssize_t j = 1; j < d; j++) {
            lo = load4(ct + j * kpad + c0);
            hi = load4(ct + j * kpad + c0 + 4);
            for (int r = 0; r < ROWS; r++) {
                const double xr = x[r * d + j];
                const v4d dlo = xr - lo, dhi = xr - hi;
                a[r][0] += dlo * dlo;
                a[r][1] += dhi * dhi;
            }
        }
        for (int r = 0; r < ROWS; r++) {
            store4(out + r * kpad + c0, a[r][0]);
            store4(out + r * kpad + c0 + 4, a[r][1]);
        }
    }
}

/* v's lanes in the order a, b, c, d */
#if defined(__clang__)
#define LANES(v, a, b, c, d) __builtin_shufflevector(v, v, a, b, c, d)
#else
#define LANES(v, a, b, c, d) __builtin_shuffle(v, (v4i){a, b, c, d})
#endif

/* Lane by lane, the lesser of (*best, *at) and (other, other_at): value, then index. */
static inline void least_of(v4d *best, v4i *at, v4d other, v4i other_at)
{
    const v4i take = (other < *best) | ((other == *best) & (other_at < *at));
    *best = (v4d)(((v4i)other & take) | ((v4i)*best & ~take));
    *at = (other_at & take) | (*at & ~take);
}

/* The index of the least of the kpad values at row (the first on ties; kpad a multiple of 4),
 * and that value in *least.  Four running minima, one per lane, each with its index, then the
 * least of the four: a single running minimum would be one chain of dependent compares, which
 * costs more than the distances, and a branch per centre would be mispredicted as often. */
static inline Py_ssize_t row_argmin(const double *row, Py_ssize_t kpad, double *least)
{
    v4d best = load4(row);
    v4i at = {0, 1, 2, 3}, index = at;
    const v4i step = {4, 4, 4, 4};
    for (Py_ssize_t c = 4; c < kpad; c += 4) {
        const v4d x = load4(row + c);
        index += step;
        const v4i lower = x < best;  /* strict: within a lane the earlier centre wins ties */
        best = (v4d)(((v4i)x & lower) | ((v4i)best & ~lower));
        at = (index & lower) | (at & ~lower);
    }
    /* the four lanes in two rounds, without branches: lanes against lanes two apart, then
     * against the neighbour; ties go to the lower index */
    least_of(&best, &at, LANES(best, 2, 3, 0, 1), LANES(at, 2, 3, 0, 1));
    least_of(&best, &at, LANES(best, 1, 0, 3, 2), LANES(at, 1, 0, 3, 2));
    *least = best[0];
    return at[0];
}

/* Rows [0, n): labels, and (when sums is not NULL) the added sums (K, D) and counts (K,);
 * the inertia in *inertia.  -1 when scratch memory is short. */
MULTIVERSION
static int nearest_rows(const double *X, const double *ct, Py_ssize_t n, Py_ssize_t d,
                        Py_ssize_t k, Py_ssize_t kpad, int64_t *labels, double *sums,
                        double *counts, double *inertia)
{
    double *dist = malloc((size_t)(ROWS * kpad) * sizeof(double));
    double *tail = calloc((size_t)(ROWS * d) + 1, sizeof(double));
    if (dist == NULL || tail == NULL) {
        free(dist); free(tail);
        return -1;
    }
    double total = 0.0;
    for (Py_ssize_t i0 = 0; i0 < n; i0 += ROWS) {
        Py_ssize_t rows = n - i0 < ROWS ? n - i0 : ROWS;
        const double *x = X + i0 * d;
        if (rows < ROWS) {  /* the last, partial tile: pad it with copies of zeros */
            memcpy(tail, x, (size_t)(rows * d) * sizeof(double));
            x = tail;
        }
        tile_distances(x, ct, d, kpad, dist);
        for (Py_ssize_t r = 0; r < rows; r++) {
            double least;
            const Py_ssize_t best = row_argmin(dist + r * kpad, kpad, &least);
            labels[i0 + r] = best;
            total += least;
            if (sums != NULL) {
                const double *xr = x + r * d;
                double *s = sums + best * d;
                counts[best] += 1.0;
                for (Py_ssize_t j = 0; j < d; j++)
                    s[j] += xr[j];
            }
        }
    }
    *inertia = total;
    free(dist); free(tail);
    return 0;
}

PyObject *kernel_nearest(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *x_obj, *c_obj, *l_obj, *s_obj, *n_obj;
    if (!PyArg_ParseTuple(args, "OOOOO", &x_obj, &c_obj, &l_obj, &s_obj, &n_obj))
        return NULL;
    int with_sums = s_obj != Py_None;
    PyObject *result = NULL;
    Py_buffer views[5];
    PyObject *objects[5] = {x_obj, c_obj, l_obj, s_obj, n_obj};
    static const char *const names[5] = {"X", "centres", "labels", "sums", "counts"};
    static const int writable[5] = {0, 0, 1, 1, 1}, ndims[5] = {2, 2, 1, 2, 1};
    const int held = with_sums ? 5 : 3;
    if (kernel_buffers(objects, views, held, names, writable, ndims, 2) < 0)
        return NULL;

    Py_ssize_t n = views[0].shape[0], d = views[0].shape[1], k = views[1].shape[0];
    if (views[1].shape[1] != d || views[2].shape[0] != n || k < 1 ||
        (with_sums && (views[3].shape[0] != k || views[3].shape[1] != d || views[4].shape[0] != k))) {
        PyErr_SetString(PyExc_ValueError, "nearest: array shapes do not agree");
        goto done;
    }
    const double *X = views[0].buf, *centres = views[1].buf;
    double *sums = with_sums ? views[3].buf : NULL, *counts = with_sums ? views[4].buf : NULL;
    Py_ssize_t kpad = (k + CENTRES - 1) / CENTRES * CENTRES;
    double *ct = malloc((size_t)(d * kpad) * sizeof(double) + 1);
    if (ct == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < d; j++)
        for (Py_ssize_t c = 0; c < kpad; c++)
            ct[j * kpad + c] = c < k ? centres[c * d + j] : INFINITY;
    if (with_sums) {
        memset(sums, 0, (size_t)(k * d) * sizeof(double));
        memset(counts, 0, (size_t)k * sizeof(double));
    }
    double inertia = 0.0;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = nearest_rows(X, ct, n, d, k, kpad, views[2].buf, sums, counts, &inertia);
    Py_END_ALLOW_THREADS
    free(ct);
    result = failed ? PyErr_NoMemory() : PyFloat_FromDouble(inertia);
done:
    kernel_release(views, held);
    return result;
}
