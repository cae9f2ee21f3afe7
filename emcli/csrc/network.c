/* Exact inference in a discrete Bayesian network by enumerating each row's unobserved states
 * (emcli.models.bn_enumeration, which groups the rows and lays out the indices): per row, the
 * log joint of every joint state is a sum of one log-CPT entry per node, and the posterior
 * weight of each state goes to one entry of every node's expected counts. */
#include "kernels.h"

/* Rows n < N, joint states s < S, nodes v < V.  Node v's CPT entry for row n in state s is at
 * offset[v] + rows[n, v] + states[s, v] of the concatenated log CPTs; seen[n, v] is 0 for a
 * missing cell without children, whose factor is 1 and whose counts are its parents' weight
 * times its CPT row (of sizes[v] levels, the entry found with the cell's level taken as 0;
 * cpt holds the probabilities whose logs log_cpt holds).
 * Writes log Z_n into log_z, adds multiplicity[n] times the posterior into counts; lj is S
 * doubles of scratch. */
MULTIVERSION
static void enumerate_rows(const int64_t *rows, const int64_t *seen, const int64_t *states,
                           const int64_t *offset, const int64_t *sizes, const double *log_cpt,
                           const double *cpt, const double *multiplicity, Py_ssize_t n, Py_ssize_t s_count,
                           Py_ssize_t v_count, double *lj, double *log_z, double *counts)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *r = rows + i * v_count, *on = seen + i * v_count;
        double top = -INFINITY;
        for (Py_ssize_t s = 0; s < s_count; s++) {
            const int64_t *st = states + s * v_count;
            double acc = 0.0;
            for (Py_ssize_t v = 0; v < v_count; v++)
                if (on[v])
                    acc += log_cpt[offset[v] + r[v] + st[v]];
            lj[s] = acc;
            if (acc > top)
                top = acc;
        }
        if (!(top > -INFINITY)) { /* no state explains the row: probability 0, no counts */
            log_z[i] = top;
            continue;
        }
        double sum = 0.0;
        for (Py_ssize_t s = 0; s < s_count; s++) {
            lj[s] = exp(lj[s] - top);
            sum += lj[s];
        }
        log_z[i] = top + log(sum);
        double scale = multiplicity[i] / sum;
        for (Py_ssize_t s = 0; s < s_count; s++) {
            const int64_t *st = states + s * v_count;
            double w = lj[s] * scale;
            for (Py_ssize_t v = 0; v < v_count; v++) {
                int64_t at = offset[v] + r[v] + st[v];
                if (on[v])
                    counts[at] += w;
                else
                    for (int64_t x = 0; x < sizes[v]; x++)
                        counts[at + x] += w * cpt[at + x];
            }
        }
    }
}

PyObject *kernel_enumerate(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *objects[10];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOO", &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4], &objects[5], &objects[6], &objects[7], &objects[8], &objects[9]))
        return NULL;
    static const char *const names[10] = {"rows", "seen", "states", "offset", "sizes", "log_cpt",
                                          "cpt", "multiplicity", "log_z", "counts"};
    static const int writable[10] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1},
                     ndims[10] = {2, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    Py_buffer views[10];
    int held = 0;
    for (; held < 10; held++)
        if (kernel_buffer(objects[held], &views[held], writable[held], ndims[held], held < 5,
                          names[held]) < 0) {
            kernel_release(views, held);
            return NULL;
        }
    Py_ssize_t n = views[0].shape[0], v_count = views[0].shape[1], s_count = views[2].shape[0];
    PyObject *result = NULL;
    double *lj = s_count > 0 ? malloc((size_t)s_count * sizeof(double)) : NULL;
    if (views[1].shape[0] != n || views[1].shape[1] != v_count || views[2].shape[1] != v_count ||
        views[3].shape[0] != v_count || views[4].shape[0] != v_count ||
        views[6].shape[0] != views[5].shape[0] || views[9].shape[0] != views[5].shape[0] ||
        views[7].shape[0] != n || views[8].shape[0] != n || s_count < 1) {
        PyErr_SetString(PyExc_ValueError, "enumerate: array shapes do not agree");
    } else if (lj == NULL) {
        PyErr_NoMemory();
    } else {
        Py_BEGIN_ALLOW_THREADS
        enumerate_rows(views[0].buf, views[1].buf, views[2].buf, views[3].buf, views[4].buf,
                       views[5].buf, views[6].buf, views[7].buf, n, s_count, v_count, lj,
                       views[8].buf, views[9].buf);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    free(lj);
    kernel_release(views, 10);
    return result;
}
