/*
 * Shared definitions of emtool's compiled kernels (the extension module emcli._kernels).
 *
 * Every kernel runs on the calling thread with the GIL released: emtool's own pool of worker
 * threads runs them on separate chunks of rows, and sums the chunks' results in chunk order,
 * so a result never depends on how many threads there are.
 */
#ifndef EMCLI_KERNELS_H
#define EMCLI_KERNELS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hot functions are compiled twice, for AVX2 with FMA (x86-64-v3) and for the baseline, and the
 * loader picks one for the CPU.  Results may differ in the last bits between the two, never
 * between runs on one machine. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 12
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

/* Four doubles as one value: GCC and Clang lower it to whatever vectors the target has (one
 * AVX2 register, or two SSE2 registers), so loops over it keep their values in registers. */
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

/* Four doubles from or to any address, in one (unaligned) vector move: a tile's pair of vectors
 * is moved as two of these, since GCC copies a 64-byte memcpy through the stack. */
static inline v4d load4(const double *from)
{
    v4d v;
    memcpy(&v, from, sizeof v);
    return v;
}

static inline void store4(double *to, v4d v)
{
    memcpy(to, &v, sizeof v);
}

/* A C-contiguous buffer of ``obj`` with ``ndim`` dimensions of float64 (int64 when ``integer``),
 * writable when asked; on failure a TypeError naming ``name`` is set and -1 returned. */
int kernel_buffer(PyObject *obj, Py_buffer *view, int writable, int ndim, int integer,
                  const char *name);
/* kernel_buffer for each of the count objects (the one at index ``integer`` int64, -1: none);
 * on failure those already held are released and -1 returned.  kernel_release gives them back. */
int kernel_buffers(PyObject *const *objects, Py_buffer *views, int count, const char *const *names,
                   const int *writable, const int *ndims, int integer);
void kernel_release(Py_buffer *views, int count);
/* Columns of a design row (design.c) for a kind of second-moment feature and d columns; 0 for
 * an unknown kind. */
Py_ssize_t design_width(int kind, Py_ssize_t d);

/* Design rows out (n, p) of the rows X (n, d) about c, second moments of the kind, one every
 * stride values (design.c). */
void design_rows(const double *X, const double *c, Py_ssize_t n, Py_ssize_t d, int kind,
                 Py_ssize_t p, Py_ssize_t stride, double *out);
/* Squared distances q (n, k) to responsibilities in place, log p(x) into ll; rows whose
 * distances are not finite become NaN and are counted (rows.c). */
Py_ssize_t gaussian_block(double *q, const double *offsets, Py_ssize_t n, Py_ssize_t k, double *ll);

PyObject *kernel_nearest(PyObject *module, PyObject *args);
PyObject *kernel_normalize_rows(PyObject *module, PyObject *args);
PyObject *kernel_design(PyObject *module, PyObject *args);
PyObject *kernel_gaussian_pass(PyObject *module, PyObject *args);
PyObject *kernel_enumerate(PyObject *module, PyObject *args);

#endif
