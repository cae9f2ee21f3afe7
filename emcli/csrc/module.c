/* The extension module emcli._kernels: its method table and the buffer checks its kernels share. */
#include "kernels.h"

int kernel_buffer(PyObject *obj, Py_buffer *view, int writable, int ndim, int integer,
                  const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *f = view->format;
    if (f[0] == '<' || f[0] == '=' || f[0] == '@')
        f++;
    int ok = view->itemsize == 8 && f[1] == 0 && (integer ? (f[0] == 'q' || f[0] == 'l') : f[0] == 'd');
    if (view->ndim != ndim || !ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %d-dimensional C-contiguous %s array", name,
                     ndim, integer ? "int64" : "float64");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

int kernel_buffers(PyObject *const *objects, Py_buffer *views, int count, const char *const *names,
                   const int *writable, const int *ndims, int integer)
{
    for (int i = 0; i < count; i++)
        if (kernel_buffer(objects[i], &views[i], writable[i], ndims[i], i == integer, names[i]) < 0) {
            kernel_release(views, i);
            return -1;
        }
    return 0;
}

void kernel_release(Py_buffer *views, int count)
{
    while (count-- > 0)
        PyBuffer_Release(&views[count]);
}

static PyMethodDef methods[] = {
    {"nearest", kernel_nearest, METH_VARARGS,
     "nearest(X, centres, labels, sums, counts) -> inertia: nearest centres, cluster sums."},
    {"normalize_rows", kernel_normalize_rows, METH_VARARGS,
     "normalize_rows(log_joint, row_ll): log p(x, z = k) (N, K) to responsibilities in place; "
     "log p(x) into row_ll (N,)."},
    {"design", kernel_design, METH_VARARGS,
     "design(X, centre, kind, out): the Gaussian E-step's design rows [second moments, x - c, 1]."},
    {"gaussian_pass", kernel_gaussian_pass, METH_VARARGS,
     "gaussian_pass(X, centre, kind, A, offsets, stats, row_ll) -> far rows: a Gaussian "
     "mixture's E-step statistics over complete rows."},
    {"enumerate", kernel_enumerate, METH_VARARGS,
     "enumerate(rows, seen, states, offset, sizes, log_cpt, cpt, multiplicity, log_z, counts): a "
     "Bayesian network's E-step over rows by enumerating their unobserved states."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "emcli._kernels",
                                    "Compiled kernels for emtool's hot loops.", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
