/* The 1:1 fold of rules.normalize in one pass of C, with the slow-fold signs found on the way.
 *
 * fold(text, table, classes, unset, resolve, marks) -> bytes | (bytes, signs, runs)
 *
 *   text     str; one output byte per character, so offsets stay the text's offsets.
 *   table    writable buffer: the folded byte of every code point below its length
 *            (planes 0 and 1), or `unset` where not known yet. An unset code point, or
 *            one beyond the table, is passed to resolve(code point) -> byte; the answer
 *            is written back into the table, so a character in it costs Python once
 *            per process (resolve caches the rest).
 *   classes  256 bytes: the CLASS_* bits of every folded byte.
 *   marks    when true, also return the end offsets of the slow-fold signs (the three
 *            patterns of normalize.SLOW_SIGNS, every end they match at) and of the runs
 *            of three or more of one letter (the third letter's end, once per run) --
 *            exactly what the Python path finds with Hyperscan and numpy.
 *
 * Pure Python does the same more slowly (normalize.fold_fast, the scanners' sign
 * search); this module is optional and tested against it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define FOLD_VERSION 1 /* bump with any change to fold()'s arguments or results */

#define CLASS_WORD 1
#define CLASS_LETTER 2
#define CLASS_LEET 4
#define CLASS_SEP 8
#define CLASS_INVISIBLE 16

typedef struct {
    PyObject *signs;
    PyObject *runs;
} Marks;

static int append_end(PyObject *list, Py_ssize_t end) {
    PyObject *v = PyLong_FromSsize_t(end);
    if (v == NULL) return -1;
    int rc = PyList_Append(list, v);
    Py_DECREF(v);
    return rc;
}

/* (L S){3} L ending at out[i-1], preceded by the start or by a non-word byte. */
static int spaced_before(const unsigned char *out, Py_ssize_t i, const unsigned char *cls) {
    if (i < 7) return 0;
    for (Py_ssize_t k = 1; k <= 7; k++) {
        int want = (k & 1) ? CLASS_LETTER : CLASS_SEP;
        if (!(cls[out[i - k]] & want)) return 0;
    }
    return i == 7 || !(cls[out[i - 8]] & CLASS_WORD);
}

static unsigned char resolve_cp(Py_UCS4 cp, unsigned char *table, Py_ssize_t table_len,
                                PyObject *resolve, int *failed) {
    PyObject *r = PyObject_CallFunction(resolve, "I", (unsigned int)cp);
    if (r == NULL) {
        *failed = 1;
        return 0;
    }
    long b = PyLong_AsLong(r);
    Py_DECREF(r);
    if (b < 0 || b > 255) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "resolve(%u) gave %ld, not a byte", (unsigned)cp, b);
        *failed = 1;
        return 0;
    }
    if ((Py_ssize_t)cp < table_len) table[cp] = (unsigned char)b;
    return (unsigned char)b;
}

/* The signs that end at out[i], given the classes of out[i-7..i] in h (out[i] lowest;
 * class 0 before the start of the text). */
static int signs_at(PyObject *signs, const unsigned char *out, Py_ssize_t i, uint64_t h,
                    const unsigned char *cls) {
    unsigned c = h & 0xff, c1 = (h >> 8) & 0xff, c2 = (h >> 16) & 0xff, c3 = (h >> 24) & 0xff;
    /* invisible: [W]\x02 | \x02[W] */
    if ((((c1 & CLASS_WORD) && (c & CLASS_INVISIBLE)) ||
         ((c1 & CLASS_INVISIBLE) && (c & CLASS_WORD))) &&
        append_end(signs, i + 1))
        return -1;
    /* leet: [L][D][L] */
    if ((c2 & CLASS_LETTER) && (c1 & CLASS_LEET) && (c & CLASS_LETTER) &&
        append_end(signs, i + 1))
        return -1;
    if (!(c & CLASS_WORD)) {
        /* leet: [L]{2}[D] then a non-word byte */
        if ((c3 & CLASS_LETTER) && (c2 & CLASS_LETTER) && (c1 & CLASS_LEET) &&
            append_end(signs, i + 1))
            return -1;
        /* spaced letters, then a non-word byte */
        if ((c1 & CLASS_LETTER) && (c2 & CLASS_SEP) && spaced_before(out, i, cls) &&
            append_end(signs, i + 1))
            return -1;
    }
    return 0;
}

/* Bytes whose class can take part in a sign: invisible or leet in the last four bytes
 * (out[i-3..i]), or a non-word byte after a letter after a separator. Anything else is
 * passed over with no branch but this one. */
#define SIGN_BITS 0x14141414u /* (CLASS_INVISIBLE | CLASS_LEET) in each of four bytes */
#define MAYBE_SIGN(h)                                                                       \
    (((h) & SIGN_BITS) ||                                                                   \
     (!((h) & CLASS_WORD) && ((h) & (CLASS_LETTER << 8)) && ((h) & (CLASS_SEP << 16))))

/* The loop, once per string kind (1, 2 or 4 bytes a character). */
#define FOLD_LOOP(CHAR_T)                                                                   \
    {                                                                                       \
        const CHAR_T *src = (const CHAR_T *)data;                                           \
        for (Py_ssize_t i = 0; i < n; i++) {                                                \
            Py_UCS4 cp = src[i];                                                            \
            unsigned char b = (Py_ssize_t)cp < table_len ? table[cp] : unset;              \
            if (b == unset) {                                                               \
                b = resolve_cp(cp, table, table_len, resolve, &failed);                     \
                if (failed) goto error;                                                     \
            }                                                                               \
            out[i] = b;                                                                     \
            if (!marks) continue;                                                           \
            h = (h << 8) | cls[b];                                                          \
            run = (b == prev) ? run + 1 : 1;                                                \
            prev = b;                                                                       \
            if (run == 3 && (cls[b] & CLASS_LETTER) && append_end(m.runs, i + 1))          \
                goto error;                                                                 \
            if (MAYBE_SIGN(h) && signs_at(m.signs, out, i, h, cls)) goto error;            \
        }                                                                                   \
    }

static PyObject *fold(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *text, *resolve;
    Py_buffer table_buf, classes_buf;
    int unset_int, marks;
    if (!PyArg_ParseTuple(args, "Uw*y*iOp", &text, &table_buf, &classes_buf, &unset_int,
                          &resolve, &marks))
        return NULL;
    PyObject *result = NULL, *bytes = NULL;
    Marks m = {NULL, NULL};
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) goto done; /* a legacy string: make it compact */
#endif
    if (classes_buf.len != 256) {
        PyErr_SetString(PyExc_ValueError, "classes must be 256 bytes");
        goto done;
    }
    unsigned char *table = (unsigned char *)table_buf.buf;
    Py_ssize_t table_len = table_buf.len;
    const unsigned char *cls = (const unsigned char *)classes_buf.buf;
    unsigned char unset = (unsigned char)unset_int;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    bytes = PyBytes_FromStringAndSize(NULL, n);
    if (bytes == NULL) goto done;
    if (marks) {
        m.signs = PyList_New(0);
        m.runs = PyList_New(0);
        if (m.signs == NULL || m.runs == NULL) goto error;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(bytes);
    int failed = 0;
    int run = 0, prev = -1; /* the run of equal bytes ending at the last one, and it */
    uint64_t h = 0;         /* the classes of the last eight bytes, the last lowest */
    if (kind == PyUnicode_1BYTE_KIND) {
        FOLD_LOOP(Py_UCS1)
    } else if (kind == PyUnicode_2BYTE_KIND) {
        FOLD_LOOP(Py_UCS2)
    } else {
        FOLD_LOOP(Py_UCS4)
    }
    if (marks) {
        /* The patterns that may end at the end of the text ($). */
        if (n >= 3 && (cls[out[n - 3]] & CLASS_LETTER) && (cls[out[n - 2]] & CLASS_LETTER) &&
            (cls[out[n - 1]] & CLASS_LEET) && append_end(m.signs, n))
            goto error;
        if (spaced_before(out, n, cls) && append_end(m.signs, n)) goto error;
        result = Py_BuildValue("(OOO)", bytes, m.signs, m.runs);
    } else {
        result = bytes;
        Py_INCREF(result);
    }
    goto done;
error:
    result = NULL;
done:
    Py_XDECREF(bytes);
    Py_XDECREF(m.signs);
    Py_XDECREF(m.runs);
    PyBuffer_Release(&table_buf);
    PyBuffer_Release(&classes_buf);
    return result;
}

static PyMethodDef methods[] = {
    {"fold", fold, METH_VARARGS, "Fold a str 1:1 to bytes; with marks, also sign and run ends."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_fold",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fold(void) {
    PyObject *m = PyModule_Create(&module);
    /* rules.normalize uses this module only when its version is the one it expects: a
     * build left over from an older source falls back to pure Python, not to a crash. */
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", FOLD_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
