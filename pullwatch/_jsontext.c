/* The compiled writer of humanize.json_text (issue 11): a report's JSON, a pull at a time.
 *
 * `json_text(value, indent, level)` gives the text humanize.json_text gives: json.dumps(value,
 * ensure_ascii=False, indent=indent) written `level` levels deep, with every character that
 * str.isprintable refuses written as a JSON `\u` escape (a UTF-16 pair above U+FFFF). It writes
 * exact dicts with str keys, lists, tuples, str, int, float, True, False and None; for anything
 * else (a subclass, another key type, nesting deeper than MAX_DEPTH, an int too long for repr) it
 * returns None and the caller uses the Python writer, which stays the reference
 * (tests/test_jsontext.py checks the two give the same text). It holds no state and does no I/O.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct {
    char *data;
    size_t size, used;
} out_t;

/* 0: written; -1: an error is set; 1: not this writer's (the caller falls back). */
enum { DONE = 0, ERROR = -1, DECLINED = 1 };

static int grow(out_t *out, size_t more) {
    if (out->used + more <= out->size) return DONE;
    size_t size = out->size ? out->size : 1024;
    while (size < out->used + more) size *= 2;
    char *data = PyMem_Realloc(out->data, size);
    if (data == NULL) {
        PyErr_NoMemory();
        return ERROR;
    }
    out->data = data;
    out->size = size;
    return DONE;
}

static int put(out_t *out, const char *bytes, size_t length) {
    if (grow(out, length) < 0) return ERROR;
    memcpy(out->data + out->used, bytes, length);
    out->used += length;
    return DONE;
}

#define PUT(out, lit) put((out), (lit), sizeof(lit) - 1)

static const char hex[] = "0123456789abcdef";

static void put_u(char *at, Py_UCS4 code) {
    at[0] = '\\';
    at[1] = 'u';
    at[2] = hex[(code >> 12) & 0xf];
    at[3] = hex[(code >> 8) & 0xf];
    at[4] = hex[(code >> 4) & 0xf];
    at[5] = hex[code & 0xf];
}

/* A str as json.dumps(ensure_ascii=False) quotes it, then json_text's escapes of what is not
 * printable: `"` and `\` escaped, \n \r \t \b \f as such, other C0 and DEL as \u00XX, a
 * non-printable character above ASCII as \uXXXX (a pair of them above U+FFFF), the rest as UTF-8. */
static int put_str(out_t *out, PyObject *text) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* the longest a character takes: \u00XX in ASCII, a pair of \u escapes above it */
    if (grow(out, (size_t)n * (PyUnicode_IS_ASCII(text) ? 6 : 12) + 2) < 0) return ERROR;
    char *at = out->data + out->used;
    *at++ = '"';
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
                *at++ = (char)c;
                continue;
            }
            *at++ = '\\';
            switch (c) {
            case '"': *at++ = '"'; break;
            case '\\': *at++ = '\\'; break;
            case '\n': *at++ = 'n'; break;
            case '\r': *at++ = 'r'; break;
            case '\t': *at++ = 't'; break;
            case '\b': *at++ = 'b'; break;
            case '\f': *at++ = 'f'; break;
            default:
                at--;
                put_u(at, c);
                at += 6;
            }
        } else if (!Py_UNICODE_ISPRINTABLE(c)) {
            if (c < 0x10000) {
                put_u(at, c);
                at += 6;
            } else {
                Py_UCS4 rest = c - 0x10000;
                put_u(at, 0xD800 + (rest >> 10));
                put_u(at + 6, 0xDC00 + (rest & 0x3FF));
                at += 12;
            }
        } else if (c < 0x800) {
            *at++ = (char)(0xC0 | (c >> 6));
            *at++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) { /* (a surrogate is not printable: never here) */
            *at++ = (char)(0xE0 | (c >> 12));
            *at++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *at++ = (char)(0x80 | (c & 0x3F));
        } else {
            *at++ = (char)(0xF0 | (c >> 18));
            *at++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *at++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *at++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *at++ = '"';
    out->used = (size_t)(at - out->data);
    return DONE;
}

/* A repr (int's, float's) as json writes it: ASCII. */
static int put_repr(out_t *out, PyObject *value, reprfunc repr) {
    PyObject *text = repr(value);
    if (text == NULL) {
        /* (an int longer than sys.get_int_max_str_digits: the Python writer raises json's error) */
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) return ERROR;
        PyErr_Clear();
        return DECLINED;
    }
    Py_ssize_t length;
    const char *bytes = PyUnicode_AsUTF8AndSize(text, &length);
    int done = bytes == NULL ? ERROR : put(out, bytes, (size_t)length);
    Py_DECREF(text);
    return done;
}

/* A line break and the indent of `depth` (compact: nothing). */
static int put_break(out_t *out, Py_ssize_t indent, Py_ssize_t depth) {
    if (indent < 0) return DONE;
    size_t spaces = (size_t)(indent * depth);
    if (grow(out, spaces + 1) < 0) return ERROR;
    out->data[out->used++] = '\n';
    memset(out->data + out->used, ' ', spaces);
    out->used += spaces;
    return DONE;
}

static int put_value(out_t *out, PyObject *value, Py_ssize_t indent, Py_ssize_t depth);

/* A list's or tuple's items (json writes a tuple as a list). */
static int put_items(out_t *out, PyObject *const *items, Py_ssize_t n, Py_ssize_t indent, Py_ssize_t depth) {
    if (n == 0) return PUT(out, "[]");
    if (PUT(out, "[") < 0) return ERROR;
    for (Py_ssize_t i = 0; i < n; i++) {
        int done = (i && (indent < 0 ? PUT(out, ", ") : PUT(out, ","))) || put_break(out, indent, depth + 1);
        if (done) return ERROR;
        if ((done = put_value(out, items[i], indent, depth + 1)) != DONE) return done;
    }
    return put_break(out, indent, depth) || PUT(out, "]") ? ERROR : DONE;
}

static int put_dict(out_t *out, PyObject *dict, Py_ssize_t indent, Py_ssize_t depth) {
    if (PyDict_GET_SIZE(dict) == 0) return PUT(out, "{}");
    if (PUT(out, "{") < 0) return ERROR;
    Py_ssize_t position = 0, i = 0;
    PyObject *key, *item;
    while (PyDict_Next(dict, &position, &key, &item)) {
        if (!PyUnicode_CheckExact(key)) return DECLINED;
        int done = (i++ && (indent < 0 ? PUT(out, ", ") : PUT(out, ","))) || put_break(out, indent, depth + 1)
                   || put_str(out, key) || PUT(out, ": ");
        if (done) return ERROR;
        Py_INCREF(item); /* (the value is read while this writer may run Python: repr) */
        done = put_value(out, item, indent, depth + 1);
        Py_DECREF(item);
        if (done != DONE) return done;
    }
    return put_break(out, indent, depth) || PUT(out, "}") ? ERROR : DONE;
}

static int put_value(out_t *out, PyObject *value, Py_ssize_t indent, Py_ssize_t depth) {
    if (value == Py_None) return PUT(out, "null");
    if (value == Py_True) return PUT(out, "true");
    if (value == Py_False) return PUT(out, "false");
    if (PyUnicode_CheckExact(value)) return put_str(out, value);
    if (PyLong_CheckExact(value)) return put_repr(out, value, PyLong_Type.tp_repr);
    if (PyFloat_CheckExact(value)) {
        double number = PyFloat_AS_DOUBLE(value);
        if (isnan(number)) return PUT(out, "NaN");
        if (isinf(number)) return number > 0 ? PUT(out, "Infinity") : PUT(out, "-Infinity");
        return put_repr(out, value, PyFloat_Type.tp_repr);
    }
    if (depth >= MAX_DEPTH) return DECLINED; /* (and a list that holds itself: json raises) */
    if (PyDict_CheckExact(value)) return put_dict(out, value, indent, depth);
    if (PyList_CheckExact(value)) {
        Py_INCREF(value);
        int done = put_items(out, PySequence_Fast_ITEMS(value), PyList_GET_SIZE(value), indent, depth);
        Py_DECREF(value);
        return done;
    }
    if (PyTuple_CheckExact(value)) return put_items(out, PySequence_Fast_ITEMS(value), PyTuple_GET_SIZE(value), indent, depth);
    return DECLINED;
}

static PyObject *json_text(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3) {
        PyErr_SetString(PyExc_TypeError, "json_text(value, indent, level)");
        return NULL;
    }
    Py_ssize_t indent = -1, level = 0; /* indent None: json.dumps' compact text (no level) */
    if (argv[1] != Py_None) {
        if ((indent = PyLong_AsSsize_t(argv[1])) == -1 && PyErr_Occurred()) return NULL;
        if ((level = PyLong_AsSsize_t(argv[2])) == -1 && PyErr_Occurred()) return NULL;
        if (indent < 0 || indent > 64 || level < 0 || level > 64) Py_RETURN_NONE; /* the Python writer's */
    }
    out_t out = {NULL, 0, 0};
    int done = put_value(&out, argv[0], indent, level);
    PyObject *text = NULL;
    if (done == DONE) {
        text = PyUnicode_DecodeUTF8(out.data, (Py_ssize_t)out.used, "strict");
    } else if (done == DECLINED) {
        text = Py_NewRef(Py_None);
    }
    PyMem_Free(out.data);
    return text;
}

static PyMethodDef methods[] = {
    {"json_text", (PyCFunction)(void (*)(void))json_text, METH_FASTCALL,
     "json_text(value, indent, level) -> str | None: humanize.json_text's text, or None where this "
     "writer leaves the value to the Python one."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_jsontext", "The compiled writer of humanize.json_text (issue 11).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsontext(void) { return PyModule_Create(&module_def); }
