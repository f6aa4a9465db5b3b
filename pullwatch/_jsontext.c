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
#include <datetime.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <structmember.h>

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
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow || (number == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return put_repr(out, value, PyLong_Type.tp_repr);
        }
        char digits[24];
        return put(out, digits, (size_t)snprintf(digits, sizeof digits, "%lld", number));
    }
    if (PyFloat_CheckExact(value)) {
        double number = PyFloat_AS_DOUBLE(value);
        if (isnan(number)) return PUT(out, "NaN");
        if (isinf(number)) return number > 0 ? PUT(out, "Infinity") : PUT(out, "-Infinity");
        /* float.__repr__'s own call */
        char *text = PyOS_double_to_string(number, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (text == NULL) return ERROR;
        int done = put(out, text, strlen(text));
        PyMem_Free(text);
        return done;
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

/* A writer's answer: the text written (DONE), None (DECLINED) or NULL (an error set); frees it. */
static PyObject *finish(out_t *out, int done) {
    PyObject *text = NULL;
    if (done == DONE) {
        text = PyUnicode_DecodeUTF8(out->data, (Py_ssize_t)out->used, "strict");
    } else if (done == DECLINED) {
        text = Py_NewRef(Py_None);
    }
    PyMem_Free(out->data);
    return text;
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
    return finish(&out, done);
}

/* ---- a pull record's JSON, read from its slots (records.PullRecord.to_json) ----------------
 *
 * `record_text(record, indent, level)` is json_text(record.to_json(), indent, level) without the
 * dict: the keys are to_json's (configure_records checks them against a record's to_json), the
 * values read from the record's and its Reasons' slots. It declines (None: the caller builds the
 * dict) a record of another type, one whose Reasons holds hosts (served_by and mirrors_skipped are
 * worked out from them) and any time that is not a datetime in UTC (timestamps.iso's other route). */
enum { VALUE, TIME, STATUS, REASON, REASON_TIME, HOSTS, NULL_VALUE, POD, NAMESPACE };
typedef struct {
    const char *key, *slot; /* slot: the record's (or, for the REASON kinds, its Reasons') member */
    int how;
} column_t;
static const column_t columns[] = {
    {"image", "image", VALUE}, {"ref", "ref", VALUE}, {"status", "status", STATUS},
    {"started_at", "started_at", TIME}, {"finished_at", "finished_at", TIME},
    {"duration_seconds", "duration_seconds", VALUE}, {"size_bytes", "size_bytes", VALUE},
    {"bytes_read", "bytes_read", VALUE}, {"image_id", "image_id", VALUE}, {"repo_tag", "repo_tag", VALUE},
    {"repo_digest", "repo_digest", VALUE}, {"snapshotter", "snapshotter", VALUE}, {"error", "error", VALUE},
    {"downloaded", "downloaded", VALUE}, {"deleted_at", "deleted_at", TIME}, {"removed_by", "removed_by", VALUE},
    {"failure", "failure", REASON}, {"failure_code", "failure_code", REASON}, {"hosts", "hosts", HOSTS},
    {"served_by", NULL, NULL_VALUE}, {"mirrors_skipped", NULL, NULL_VALUE}, {"pod", "pods", POD},
    {"namespace", "pods", NAMESPACE}, {"pods", "pods", REASON}, {"stuck", "stuck", REASON},
    {"stuck_since", "stuck_since", REASON_TIME}, {"node", "node", VALUE},
};
#define COLUMNS ((Py_ssize_t)(sizeof columns / sizeof columns[0]))
static Py_ssize_t offsets[COLUMNS], reasons_offset;
static PyObject *record_type, *reasons_type, *status_texts, *utc_zone;

/* The slot offset of member `name` of `type` (a plain object member), or -1 with an error set. */
static Py_ssize_t slot_offset(PyObject *type, const char *name) {
    PyObject *member = PyObject_GetAttrString(type, name);
    if (member == NULL) return -1;
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(member, &PyMemberDescr_Type) && ((PyMemberDescrObject *)member)->d_member->type == T_OBJECT_EX)
        offset = ((PyMemberDescrObject *)member)->d_member->offset;
    else
        PyErr_Format(PyExc_ValueError, "_jsontext: %s is not a slot of the record types", name);
    Py_DECREF(member);
    return offset;
}

static PyObject *configure_records(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    (void)module;
    if (argc != 5 || !PyType_Check(argv[0]) || !PyType_Check(argv[1]) || !PyDict_Check(argv[2])
        || !PyTuple_Check(argv[3])) {
        PyErr_SetString(PyExc_TypeError, "configure_records(record_type, reasons_type, status_texts, keys: tuple, utc)");
        return NULL;
    }
    PyObject *keys = argv[3];
    if (PyTuple_GET_SIZE(keys) != COLUMNS) {
        PyErr_SetString(PyExc_ValueError, "_jsontext: to_json's keys are not this writer's");
        return NULL;
    }
    Py_ssize_t found[COLUMNS], reasons;
    for (Py_ssize_t i = 0; i < COLUMNS; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (!PyUnicode_Check(key) || PyUnicode_CompareWithASCIIString(key, columns[i].key) != 0) {
            PyErr_Format(PyExc_ValueError, "_jsontext: to_json's key %zd is not %s", i, columns[i].key);
            return NULL;
        }
        int of_reasons = columns[i].how >= REASON && columns[i].how != NULL_VALUE;
        found[i] = columns[i].slot == NULL ? 0 : slot_offset(of_reasons ? argv[1] : argv[0], columns[i].slot);
        if (found[i] < 0) return NULL;
    }
    if ((reasons = slot_offset(argv[0], "reasons")) < 0) return NULL;
    memcpy(offsets, found, sizeof found);
    reasons_offset = reasons;
    Py_XSETREF(record_type, Py_NewRef(argv[0]));
    Py_XSETREF(reasons_type, Py_NewRef(argv[1]));
    Py_XSETREF(status_texts, Py_NewRef(argv[2]));
    Py_XSETREF(utc_zone, Py_NewRef(argv[4]));
    Py_RETURN_NONE;
}

/* A slot's value (borrowed), NULL with an error set when it is unset. */
static PyObject *slot(PyObject *object, Py_ssize_t offset) {
    PyObject *value = *(PyObject **)((char *)object + offset);
    if (value == NULL) PyErr_SetString(PyExc_AttributeError, "_jsontext: a record slot is unset");
    return value;
}

/* timestamps.iso of a UTC datetime, quoted; None as null; any other value declined. */
static int put_time(out_t *out, PyObject *moment) {
    if (moment == Py_None) return PUT(out, "null");
    if (!PyDateTime_CheckExact(moment) || !((PyDateTime_DateTime *)moment)->hastzinfo
        || ((PyDateTime_DateTime *)moment)->tzinfo != utc_zone)
        return DECLINED;
    char text[] = "\"0000-00-00T00:00:00.000000Z\"";
    int parts[][3] = {{PyDateTime_GET_YEAR(moment), 1, 4}, {PyDateTime_GET_MONTH(moment), 6, 2},
                      {PyDateTime_GET_DAY(moment), 9, 2}, {PyDateTime_DATE_GET_HOUR(moment), 12, 2},
                      {PyDateTime_DATE_GET_MINUTE(moment), 15, 2}, {PyDateTime_DATE_GET_SECOND(moment), 18, 2},
                      {PyDateTime_DATE_GET_MICROSECOND(moment), 21, 6}};
    for (int i = 0; i < 7; i++) { /* each field's digits, right to left: "%04d-%02d-…%06dZ" */
        for (int at = parts[i][1] + parts[i][2] - 1, value = parts[i][0]; at >= parts[i][1]; at--, value /= 10)
            text[at] = (char)('0' + value % 10);
    }
    return put(out, text, sizeof text - 1);
}

/* Reasons.pod's part (`name` or its namespace, "" read as None) of the only pod, or null. */
static int put_pod(out_t *out, PyObject *pods, int namespace) {
    if (pods == Py_None) return PUT(out, "null");
    if (!PyList_CheckExact(pods)) return DECLINED;
    if (PyList_GET_SIZE(pods) != 1) return PUT(out, "null");
    PyObject *pod = PyList_GET_ITEM(pods, 0);
    if (!PyUnicode_CheckExact(pod)) return DECLINED;
    Py_ssize_t n = PyUnicode_GET_LENGTH(pod), slash = PyUnicode_FindChar(pod, '/', 0, n, -1);
    if (slash == -2) return ERROR;
    if (namespace && slash <= 0) return PUT(out, "null"); /* rpartition's "" head: None */
    PyObject *part = namespace ? PyUnicode_Substring(pod, 0, slash) : PyUnicode_Substring(pod, slash + 1, n);
    if (part == NULL) return ERROR;
    int done = put_str(out, part);
    Py_DECREF(part);
    return done;
}

/* What comes before each column's value at one indent and depth: `{` or `,`, the line break and
 * indent, the quoted key and `: ` (made once for the indent and depth last asked). */
static char prefixes[COLUMNS][200];
static size_t prefix_lengths[COLUMNS];
static Py_ssize_t prefix_indent = -2, prefix_depth = -1;

static void make_prefixes(Py_ssize_t indent, Py_ssize_t depth) {
    for (Py_ssize_t i = 0; i < COLUMNS; i++) {
        char *at = prefixes[i];
        *at++ = i ? ',' : '{';
        if (indent < 0) {
            if (i) *at++ = ' ';
        } else {
            *at++ = '\n';
            memset(at, ' ', (size_t)(indent * (depth + 1)));
            at += indent * (depth + 1);
        }
        at += sprintf(at, "\"%s\": ", columns[i].key);
        prefix_lengths[i] = (size_t)(at - prefixes[i]);
    }
    prefix_indent = indent;
    prefix_depth = depth;
}

static int put_record(out_t *out, PyObject *record, Py_ssize_t indent, Py_ssize_t depth) {
    PyObject *reasons = slot(record, reasons_offset);
    if (reasons == NULL) return ERROR;
    if (!Py_IS_TYPE(reasons, (PyTypeObject *)reasons_type)) return DECLINED;
    if (indent != prefix_indent || depth != prefix_depth) make_prefixes(indent, depth);
    if (grow(out, 2048) < 0) return ERROR;
    for (Py_ssize_t i = 0; i < COLUMNS; i++) {
        const column_t *column = &columns[i];
        if (put(out, prefixes[i], prefix_lengths[i]) < 0) return ERROR;
        PyObject *value = NULL;
        if (column->how != NULL_VALUE) {
            int of_reasons = column->how >= REASON;
            value = slot(of_reasons ? reasons : record, offsets[i]);
            if (value == NULL) return ERROR;
        }
        int done;
        Py_XINCREF(value); /* (read while this writer may run Python: repr) */
        switch (column->how) {
        case TIME: case REASON_TIME: done = put_time(out, value); break;
        case STATUS: {
            PyObject *text = PyDict_GetItemWithError(status_texts, value);
            done = text != NULL ? put_str(out, text) : PyErr_Occurred() ? ERROR : DECLINED;
            break;
        }
        case HOSTS: done = value == Py_None ? PUT(out, "null") : DECLINED; break;
        case NULL_VALUE: done = PUT(out, "null"); break;
        case POD: case NAMESPACE: done = put_pod(out, value, column->how == NAMESPACE); break;
        default: done = put_value(out, value, indent, depth + 1);
        }
        Py_XDECREF(value);
        if (done != DONE) return done;
    }
    return put_break(out, indent, depth) || PUT(out, "}") ? ERROR : DONE;
}

static PyObject *record_text(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    (void)module;
    if (argc != 3) {
        PyErr_SetString(PyExc_TypeError, "record_text(record, indent, level)");
        return NULL;
    }
    if (record_type == NULL || !Py_IS_TYPE(argv[0], (PyTypeObject *)record_type)) Py_RETURN_NONE;
    Py_ssize_t indent = -1, level = 0;
    if (argv[1] != Py_None) {
        if ((indent = PyLong_AsSsize_t(argv[1])) == -1 && PyErr_Occurred()) return NULL;
        if ((level = PyLong_AsSsize_t(argv[2])) == -1 && PyErr_Occurred()) return NULL;
        if (indent < 0 || indent > 64 || level < 0 || level > 150 || indent * (level + 1) > 150)
            Py_RETURN_NONE; /* prefixes[] */
    }
    out_t out = {NULL, 0, 0};
    PyObject *record = Py_NewRef(argv[0]);
    int done = put_record(&out, record, indent, level);
    Py_DECREF(record);
    return finish(&out, done);
}

static PyMethodDef methods[] = {
    {"record_text", (PyCFunction)(void (*)(void))record_text, METH_FASTCALL,
     "record_text(record, indent, level) -> str | None: json_text(record.to_json(), indent, level), or None "
     "where this writer leaves the record to to_json."},
    {"configure_records", (PyCFunction)(void (*)(void))configure_records, METH_FASTCALL,
     "configure_records(record_type, reasons_type, status_texts, keys, utc): the types record_text reads."},
    {"json_text", (PyCFunction)(void (*)(void))json_text, METH_FASTCALL,
     "json_text(value, indent, level) -> str | None: humanize.json_text's text, or None where this "
     "writer leaves the value to the Python one."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_jsontext", "The compiled writer of humanize.json_text (issue 11).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsontext(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    return PyModule_Create(&module_def);
}
