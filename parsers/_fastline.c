/* The compiled first route for the messages that fill dense logs (issue 11).
 *
 * `batch(lines, nodes, node)` reads each candidate line as parsers/fastpath.py's patterns would,
 * but only for the lines it is sure of: ASCII lines in journald's short format or bare logrus text
 * (containerd's UTC time), containerd's logrus JSON (an optional error and host, then level, msg
 * and time), or `journalctl -o json` records of such text lines, whose msg is a PullImage start,
 * result or failure, a Pulled image line, a stop- or cancel-pulling line, an image event (1.6's
 * gogo text or 1.7+'s protobuf text) or a resolver's "trying next host" (whose error and host
 * hosts.next_host_line reads), with no escape in the parts it reads. For those it builds the PullEvent fastpath.fast_batch
 * would; every other line is left to fast_batch's own loop (and from there to the reference),
 * so this module only ever answers less, never differently (tests/test_fastline.py checks that
 * against the reference and against the pure-Python route). `iso_utc` is timestamps.iso's
 * formatting of a UTC time, the outputs' most frequent call.
 *
 * It holds no state but what `configure` gives it once (the event class, the kinds, the
 * normaliser, the duration reader, UTC, the year range and the line limits), does no I/O and
 * keeps no reference to a line it read.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* memmem */
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

static PyObject *event_type;
static PyObject *normalize_ref, *go_seconds, *utc, *managed_labels, *next_host_line;
static long first_year, last_year;
static Py_ssize_t raw_limit, max_line;

typedef const unsigned char *text_t;

/* The character classes of fastpath.py's patterns (re.ASCII), on ASCII text, as bits of one table. */
enum {
    PLAIN = 1,  /* _PLAIN: no quote, no backslash, no control */
    WORD = 2,   /* _WORD: _PLAIN without whitespace (the other whitespace characters are controls) */
    LEVEL = 4,  /* text's level: _WORD without `=` */
    HOST = 8,   /* the short prefix's host: no whitespace, no control */
    IDENT = 16, /* its identifier: the host's characters but `[]="{:` */
    DIGIT = 32,
};
static unsigned char classes[256];

static void fill_classes(void) {
    for (int c = 0; c < 128; c++) {
        int ctrl = c < 0x20 || c == 0x7f, plain = !ctrl && c != '"' && c != '\\';
        int word = plain && c != ' ', host = c > 0x20 && c != 0x7f;
        classes[c] = (unsigned char)((plain ? PLAIN : 0) | (word ? WORD : 0) | (word && c != '=' ? LEVEL : 0)
                                     | (host ? HOST : 0) | (host && !strchr("[]=\"{:", c) ? IDENT : 0)
                                     | (c >= '0' && c <= '9' ? DIGIT : 0));
    }
}
#define IS(c, class) (classes[(unsigned char)(c)] & (class))
static inline int is_digit(unsigned char c) { return IS(c, DIGIT); }

/* The end of the run of characters of `class` from `at`. */
static inline Py_ssize_t run(text_t s, Py_ssize_t at, Py_ssize_t n, int class) {
    while (at < n && IS(s[at], class)) at++;
    return at;
}

/* Whether s[at:] starts with the literal `lit`. */
static inline int has(text_t s, Py_ssize_t at, Py_ssize_t n, const char *lit, Py_ssize_t len) {
    return at >= 0 && n - at >= len && memcmp(s + at, lit, (size_t)len) == 0;
}
#define HAS(s, at, n, lit) has((s), (at), (n), (lit), (Py_ssize_t)(sizeof(lit) - 1))

/* _SHORT_PREFIX: `Mmm dd hh:mm:ss[.us] host ident[pid]: `; the position after it, or -1. */
static Py_ssize_t short_prefix(text_t s, Py_ssize_t n, Py_ssize_t *host_at, Py_ssize_t *host_end) {
    Py_ssize_t p = 0;
    if (n < 4 || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'a' && s[1] <= 'z') || !(s[2] >= 'a' && s[2] <= 'z')
        || s[3] != ' ')
        return -1;
    p = 4;
    if (p + 2 < n && (s[p] == ' ' || is_digit(s[p])) && is_digit(s[p + 1]) && s[p + 2] == ' ')
        p += 3; /* `[ 0-9]?\d ` with the optional character */
    else if (p + 1 < n && is_digit(s[p]) && s[p + 1] == ' ')
        p += 2;
    else
        return -1;
    if (n - p < 9 || !is_digit(s[p]) || !is_digit(s[p + 1]) || s[p + 2] != ':' || !is_digit(s[p + 3])
        || !is_digit(s[p + 4]) || s[p + 5] != ':' || !is_digit(s[p + 6]) || !is_digit(s[p + 7]))
        return -1;
    p += 8;
    if (s[p] == '.') {
        Py_ssize_t digits = run(s, p + 1, n, DIGIT);
        if (digits == p + 1) return -1;
        p = digits;
    }
    if (p >= n || s[p] != ' ') return -1;
    *host_at = ++p;
    p = run(s, p, n, HOST);
    if (p == *host_at || p >= n || s[p] != ' ') return -1;
    *host_end = p++;
    Py_ssize_t ident = p;
    p = run(s, p, n, IDENT);
    if (p == ident) return -1;
    if (HAS(s, p, n, ": ")) return p + 2;
    if (p < n && s[p] == '[') {
        Py_ssize_t digits = run(s, p + 1, n, DIGIT);
        if (digits > p + 1 && HAS(s, digits, n, "]: ")) return digits + 3;
    }
    return -1;
}

static const int days_in[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* _UTC, `yyyy-mm-ddThh:mm:ss[.f+]Z`, spanning exactly s[at:end], as datetime.fromisoformat reads
 * it (the fraction cut to microseconds), within the years timestamps accepts; NULL (no error
 * set) for anything else: fast_batch decides. */
static PyObject *utc_time(text_t s, Py_ssize_t at, Py_ssize_t end) {
    text_t t = s + at;
    Py_ssize_t len = end - at;
    if (len < 20 || t[len - 1] != 'Z') return NULL;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? !is_digit(t[i]) : t[i] != (unsigned char)shape[i]) return NULL;
    }
    int micro = 0;
    if (len > 20) {
        if (t[19] != '.' || len == 21) return NULL;
        for (Py_ssize_t i = 20; i < len - 1; i++) {
            if (!is_digit(t[i])) return NULL;
            if (i < 26) micro = micro * 10 + (t[i] - '0');
        }
        for (Py_ssize_t i = len - 1; i < 26; i++) micro *= 10; /* fewer than six digits */
    }
#define NUM2(i) ((t[i] - '0') * 10 + (t[(i) + 1] - '0'))
    int year = NUM2(0) * 100 + NUM2(2), month = NUM2(5), day = NUM2(8);
    int hour = NUM2(11), minute = NUM2(14), second = NUM2(17);
#undef NUM2
    if (year < first_year || year > last_year || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59
        || second > 59)
        return NULL;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > days_in[month] + (month == 2 && leap)) return NULL;
    return PyDateTimeAPI->DateTime_FromDateAndTime(year, month, day, hour, minute, second, micro, utc,
                                                   PyDateTimeAPI->DateTimeType);
}

static inline PyObject *ascii_str(text_t s, Py_ssize_t at, Py_ssize_t end) {
    PyObject *text = PyUnicode_New(end - at, 127);
    if (text != NULL) memcpy(PyUnicode_1BYTE_DATA(text), s + at, (size_t)(end - at));
    return text;
}

/* Strings that repeat from line to line (image names with their normalised form, levels, hosts,
 * ids, tags, digests), kept in two direct-mapped tables: a repeat costs a hash and a compare
 * instead of a new str (and a normalize call), and the events share one object (smaller pickles
 * for the scanning child's frames). A slot holds the last string that hashed to it: the memory
 * is bounded whatever the log holds. */
#define CACHE_SLOTS 1024
#define CACHE_MAX_LENGTH 256
typedef struct {
    PyObject *text, *ref; /* ref: normalize(text), in the images table only */
} cache_slot_t;
static cache_slot_t images[CACHE_SLOTS], words[CACHE_SLOTS];

/* s[at:end] as a str (new reference), from the table when it is there; with `ref`, also its
 * normalised form (new reference). NULL with an error set on failure. */
static PyObject *cached(cache_slot_t *table, text_t s, Py_ssize_t at, Py_ssize_t end, PyObject **ref) {
    Py_ssize_t length = end - at;
    cache_slot_t *slot = NULL;
    if (length <= CACHE_MAX_LENGTH) {
        unsigned long long hash = 1469598103934665603ULL; /* FNV-1a */
        for (Py_ssize_t i = at; i < end; i++) hash = (hash ^ s[i]) * 1099511628211ULL;
        slot = &table[(hash ^ (hash >> 32)) & (CACHE_SLOTS - 1)];
        if (slot->text != NULL && PyUnicode_GET_LENGTH(slot->text) == length
            && memcmp(PyUnicode_1BYTE_DATA(slot->text), s + at, (size_t)length) == 0) {
            if (ref != NULL) *ref = Py_NewRef(slot->ref);
            return Py_NewRef(slot->text);
        }
    }
    PyObject *text = ascii_str(s, at, end), *normal = NULL;
    if (text == NULL) return NULL;
    if (ref != NULL) {
        normal = PyObject_CallOneArg(normalize_ref, text);
        if (normal == NULL) {
            Py_DECREF(text);
            return NULL;
        }
        *ref = normal;
    }
    if (slot != NULL) {
        Py_XSETREF(slot->text, Py_NewRef(text));
        Py_XSETREF(slot->ref, Py_XNewRef(normal));
    }
    return text;
}

/* PullEvent's fields, in its declaration order (configure checks the names). */
enum {
    F_KIND, F_IMAGE, F_REF, F_TIME, F_LEVEL, F_IMAGE_ID, F_REPO_TAG, F_REPO_DIGEST, F_SIZE_BYTES, F_DURATION,
    F_BYTES_READ, F_SNAPSHOTTER, F_TIMEOUT, F_ERROR, F_DIGEST, F_PULL_METHOD, F_MANAGED, F_NODE, F_RAW, F_DETAIL,
    FIELDS
};
static const char *const field_names[FIELDS] = {
    "kind", "image", "ref", "time", "level", "image_id", "repo_tag", "repo_digest", "size_bytes",
    "duration_seconds", "bytes_read", "snapshotter", "timeout", "error", "digest", "pull_method", "managed", "node",
    "raw", "detail",
};
/* Where each field's slot lies in a PullEvent (a slots dataclass: each field is a member). */
static Py_ssize_t field_offsets[FIELDS];

/* A PullEvent holding `fields` (references it takes over, also on failure), as its __init__
 * would set them, without running it: its __init__ only stores each argument in its slot, and a
 * Python call per line would cost more than the rest of this route. NULL with an error set when
 * a field is NULL (its creation failed) or the allocation fails. */
static PyObject *new_event(PyObject **fields) {
    PyObject *event = NULL;
    int i;
    for (i = 0; i < FIELDS; i++) {
        if (fields[i] == NULL) goto fail;
    }
    event = ((PyTypeObject *)event_type)->tp_alloc((PyTypeObject *)event_type, 0);
    if (event == NULL) goto fail;
    for (i = 0; i < FIELDS; i++) *(PyObject **)((char *)event + field_offsets[i]) = fields[i];
    return event;
fail:
    for (i = 0; i < FIELDS; i++) Py_XDECREF(fields[i]);
    return NULL;
}

/* Where a field's span lies; at < 0: None. */
typedef struct {
    Py_ssize_t at, end;
} span_t;

enum { START, RESULT, STOP, PULLED, FAILED, CANCEL, IMAGE_CREATE, IMAGE_UPDATE, IMAGE_DELETE, NEXT_HOST };
/* Each message's EventKind, by the message (configure gives them). */
static PyObject *message_kinds[NEXT_HOST + 1];

typedef struct {
    int kind;
    span_t image, a, b, c, size, duration; /* a, b, c: result id; image id, repo tag, repo digest; timeout;
                                             * an image event's tail */
    long long bytes_read, size_bytes;
    Py_ssize_t end; /* the msg's closing quote */
} message_t;

/* `\"PLAIN\"` at `at`: its body's span; the position after it, or -1. */
static Py_ssize_t quoted(text_t s, Py_ssize_t at, Py_ssize_t n, span_t *body) {
    if (!HAS(s, at, n, "\\\"")) return -1;
    body->at = at + 2;
    body->end = run(s, at + 2, n, PLAIN);
    return HAS(s, body->end, n, "\\\"") ? body->end + 2 : -1;
}

/* Whether the envelope's tail may follow at `at`: text's `"` then the end or a space. */
static inline int text_tail(text_t s, Py_ssize_t at, Py_ssize_t n) {
    return at < n && s[at] == '"' && (at + 1 == n || s[at + 1] == ' ');
}

/* JSON's tail, `","time":"UTC"}` to the end: its time, or NULL (no error set). */
static PyObject *json_tail(text_t s, Py_ssize_t at, Py_ssize_t n) {
    if (!HAS(s, at, n, "\",\"time\":\"") || n - at < 12 || s[n - 1] != '}' || s[n - 2] != '"') return NULL;
    return utc_time(s, at + 10, n - 2);
}

/* Digits, fewer than 19 of them (a long long): their value; else -1. */
static long long digits_value(text_t s, span_t span) {
    Py_ssize_t len = span.end - span.at;
    if (len < 1 || len > 18) return -1;
    long long value = 0;
    for (Py_ssize_t i = span.at; i < span.end; i++) {
        if (!is_digit(s[i])) return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

static Py_ssize_t body_end(text_t s, Py_ssize_t at, Py_ssize_t n);

/* The message at `at` (after `msg="`); its tail is checked by `ends` (text) or by the caller
 * (JSON: json_tail at m->end). 1 when it is one of the four messages, else 0. */
static int message(text_t s, Py_ssize_t at, Py_ssize_t n, int json, message_t *m) {
    Py_ssize_t p;
    span_t none = {-1, -1};
    m->a = m->b = m->c = m->size = m->duration = none;
#define ENDS(q) (json ? HAS(s, (q), n, "\",\"time\":\"") : text_tail(s, (q), n))
    if (HAS(s, at, n, "PullImage ")) {
        p = quoted(s, at + 10, n, &m->image);
        if (p < 0) return 0;
        if (ENDS(p)) {
            m->kind = START;
            m->end = p;
            return 1;
        }
        if (HAS(s, p, n, " failed") && ENDS(p + 7)) {
            m->kind = FAILED;
            m->end = p + 7;
            return 1;
        }
        if (!HAS(s, p, n, " returns image reference ")) return 0;
        p = quoted(s, p + 25, n, &m->a);
        if (p < 0 || !ENDS(p)) return 0;
        m->kind = RESULT;
        m->end = p;
        return 1;
    }
    if (HAS(s, at, n, "Pulled image ")) {
        p = quoted(s, at + 13, n, &m->image);
        if (p < 0 || !HAS(s, p, n, " with image id ")) return 0;
        p = quoted(s, p + 15, n, &m->a);
        if (p < 0 || !HAS(s, p, n, ", repo tag ")) return 0;
        p = quoted(s, p + 11, n, &m->b);
        if (p < 0 || !HAS(s, p, n, ", repo digest ")) return 0;
        p = quoted(s, p + 14, n, &m->c);
        if (p < 0) return 0;
        if (HAS(s, p, n, ", size ")) {
            p = quoted(s, p + 7, n, &m->size);
            if (p < 0 || !HAS(s, p, n, " in ")) return 0;
            m->duration.at = p + 4;
            p = m->duration.end = run(s, p + 4, n, WORD);
            if (p == m->duration.at) return 0;
            m->size_bytes = digits_value(s, m->size);
            if (m->size_bytes < 0) return 0; /* not plain digits: byte_count decides */
        }
        if (!ENDS(p)) return 0;
        m->kind = PULLED;
        m->end = p;
        return 1;
    }
    if (HAS(s, at, n, "stop pulling image ")) {
        /* `(WORD): active requests=`: WORD has no space, so it ends at the first one, after `:` */
        m->image.at = at + 19;
        p = run(s, at + 19, n, WORD);
        if (p - m->image.at < 2 || s[p - 1] != ':' || !HAS(s, p, n, " active requests=")) return 0;
        m->image.end = p - 1;
        p += 17;
        if (p < n && s[p] == '-') p++;
        Py_ssize_t digits = run(s, p, n, DIGIT);
        if (digits == p || !HAS(s, digits, n, ", bytes read=")) return 0;
        span_t read = {digits + 13, run(s, digits + 13, n, DIGIT)};
        m->bytes_read = digits_value(s, read);
        if (m->bytes_read < 0 || !ENDS(read.end)) return 0;
        m->kind = STOP;
        m->end = read.end;
        return 1;
    }
    if (HAS(s, at, n, "cancel pulling image ")) {
        m->image.at = at + 21;
        m->image.end = p = run(s, at + 21, n, WORD);
        if (p == m->image.at || !HAS(s, p, n, " because of no progress in ")) return 0;
        m->a.at = p + 27;
        m->a.end = run(s, m->a.at, n, WORD);
        if (m->a.end == m->a.at || !ENDS(m->a.end)) return 0;
        m->kind = CANCEL;
        m->end = m->a.end;
        return 1;
    }
    if (HAS(s, at, n, "Image")) {
        /* `ImageX event name:\"PLAIN\"BODY` (1.7+) or `ImageX event &ImageY{Name:NAME,BODY}` (1.6) */
        static const char *const words[] = {"Create", "Update", "Delete"};
        int word = 0;
        while (word < 3 && !(has(s, at + 5, n, words[word], 6) && HAS(s, at + 11, n, " event "))) word++;
        if (word == 3) return 0;
        p = at + 18;
        int gogo = 0;
        if (HAS(s, p, n, "name:")) {
            p = quoted(s, p + 5, n, &m->image);
            if (p < 0) return 0;
        } else if (HAS(s, p, n, "&Image")
                   && (has(s, p + 6, n, "Create", 6) || has(s, p + 6, n, "Update", 6) || has(s, p + 6, n, "Delete", 6))
                   && HAS(s, p + 12, n, "{Name:")) {
            m->image.at = p = p + 18;
            while (p < n && s[p] != ',' && s[p] != '{' && s[p] != '}' && s[p] != '"' && s[p] != '\\' && s[p] >= 0x20
                   && s[p] != 0x7f)
                p++;
            if (p >= n || s[p] != ',') return 0;
            m->image.end = p++;
            gogo = 1;
        } else {
            return 0;
        }
        Py_ssize_t q = body_end(s, p, n);
        if (gogo && (q - 1 < p || s[q - 1] != '}')) return 0;
        m->a.at = p;
        m->a.end = gogo ? q - 1 : q;
        if (m->image.end == m->image.at || !ENDS(q)) return 0; /* an empty name: the Python route's */
        m->kind = IMAGE_CREATE + word;
        m->end = q;
        return 1;
    }
    if (HAS(s, at, n, "trying next host")) {
        p = at + 16;
        if (!(json ? ENDS(p) : p < n && s[p] == '"')) return 0; /* text: its fields are read by line_event */
        m->kind = NEXT_HOST;
        m->end = p;
        return 1;
    }
    return 0;
#undef ENDS
}

/* A span as a str, or None (a PULLED field's `or None`: empty is None too). */
static inline PyObject *field_or_none(text_t s, span_t span) {
    if (span.at < 0 || span.at == span.end) Py_RETURN_NONE;
    return cached(words, s, span.at, span.end, NULL);
}

/* The end of a _BODY from `at` (no escape but `\"`): where its closing `"` is. */
static Py_ssize_t body_end(text_t s, Py_ssize_t at, Py_ssize_t n) {
    Py_ssize_t p = run(s, at, n, PLAIN);
    while (HAS(s, p, n, "\\\"")) p = run(s, p + 2, n, PLAIN);
    return p;
}

/* s[at:end], a _BODY, with `\"` read as `"`: a new str, or NULL with an error set. */
static PyObject *body_str(text_t s, Py_ssize_t at, Py_ssize_t end) {
    Py_ssize_t length = 0;
    for (Py_ssize_t i = at; i < end; i++, length++) i += s[i] == '\\';
    PyObject *text = PyUnicode_New(length, 127);
    if (text == NULL) return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = at; i < end; i++) *out++ = s[i += s[i] == '\\'];
    return text;
}

/* A Go duration of one unit, seconds or milliseconds, as fastpath._seconds reads it: `D[.F]s` with
 * at most 9 digits of F, `D[.F]ms` with at most 6, D at most 6 digits. Python's float of the
 * number times the unit, rounded to 9 places, is then the float nearest to the decimal itself
 * (the product's error is far below 1e-9), so the digits are read as one decimal, the point moved
 * three places for ms. A float, or NULL (no error set) for any other duration: Python's. */
static PyObject *plain_seconds(text_t s, span_t span) {
    int ms = span.end - span.at >= 3 && s[span.end - 2] == 'm' && s[span.end - 1] == 's';
    Py_ssize_t end = span.end - (ms ? 2 : 1), whole = run(s, span.at, end, DIGIT), fraction = 0;
    if (!ms && (span.end == span.at || s[span.end - 1] != 's')) return NULL;
    if (whole == span.at || whole - span.at > 6) return NULL;
    if (whole < end) {
        if (s[whole] != '.' || run(s, whole + 1, end, DIGIT) != end) return NULL;
        fraction = end - whole - 1;
        if (fraction == 0 || fraction > (ms ? 6 : 9)) return NULL;
    }
    char text[32], *out = text;
    if (ms) { /* D.F ms as 0.00D F … : digits D then F, with the point three places to the left */
        Py_ssize_t digits = (whole - span.at) + fraction, point = (whole - span.at) - 3;
        char all[16];
        memcpy(all, s + span.at, (size_t)(whole - span.at));
        if (fraction) memcpy(all + (whole - span.at), s + whole + 1, (size_t)fraction);
        if (point <= 0) {
            *out++ = '0';
            *out++ = '.';
            for (Py_ssize_t i = point; i < 0; i++) *out++ = '0';
            memcpy(out, all, (size_t)digits);
            out += digits;
        } else {
            memcpy(out, all, (size_t)point);
            out += point;
            *out++ = '.';
            memcpy(out, all + point, (size_t)(digits - point));
            out += digits - point;
        }
    } else {
        memcpy(out, s + span.at, (size_t)(end - span.at));
        out += end - span.at;
    }
    *out = '\0';
    double value = PyOS_string_to_double(text, NULL, NULL);
    if (value == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(value);
}

/* Whether the span is an image id, `sha256:` and 64 lowercase hex digits (messages._IMAGE_ID). */
static int image_id_shaped(text_t s, span_t span) {
    if (span.end - span.at != 71 || !HAS(s, span.at, span.end, "sha256:")) return 0;
    for (Py_ssize_t i = span.at + 7; i < span.end; i++) {
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) return 0;
    }
    return 1;
}

/* Whether an image event's tail (a _BODY: `\"` read as `"`) holds one of messages._MANAGED, the
 * CRI's managed label as each version prints it: 1, 0, or -1 with an error set. */
static int carries_label(text_t s, span_t tail) {
    PyObject *text = body_str(s, tail.at, tail.end);
    if (text == NULL) return -1;
    int found = 0;
    for (Py_ssize_t i = 0; !found && i < PyTuple_GET_SIZE(managed_labels); i++) {
        PyObject *label = PyTuple_GET_ITEM(managed_labels, i);
        Py_ssize_t length = PyUnicode_GET_LENGTH(label), size = PyUnicode_GET_LENGTH(text);
        const unsigned char *data = PyUnicode_1BYTE_DATA(text), *want = PyUnicode_1BYTE_DATA(label);
        for (Py_ssize_t at = 0; !found && at + length <= size; at++) found = memcmp(data + at, want, (size_t)length) == 0;
    }
    Py_DECREF(text);
    return found;
}

/* The event for one line, NULL with no error set when this route does not know it. `raw`: the
 * line as read (a journal record's whole text, where `s` is its MESSAGE); `record_host`: the
 * record's _HOSTNAME (Py_None: it names none), NULL for a line that is no record. */
static PyObject *line_event(text_t s, Py_ssize_t n, PyObject *node, text_t raw, Py_ssize_t raw_n,
                            PyObject *record_host) {
    Py_ssize_t p = 0, host_at = -1, host_end = -1, level_at, level_end;
    int json = 0;
    PyObject *moment = NULL;
    message_t m;
    span_t error = {-1, -1}; /* a FAILED line's error: JSON's first field, text's only one after msg */
    span_t resolver = {-1, -1}; /* a "trying next host" line's host: JSON's field after error, text's last */
    if (n > 0 && s[0] == '{' && record_host == NULL) {
        p = 1;
        if (HAS(s, 0, n, "{\"error\":\"")) {
            error.at = 10;
            error.end = body_end(s, 10, n);
            if (!HAS(s, error.end, n, "\",\"")) return NULL;
            p = error.end + 2;
        }
        if (HAS(s, p, n, "\"host\":\"")) {
            resolver.at = p + 8;
            resolver.end = run(s, resolver.at, n, PLAIN);
            if (!HAS(s, resolver.end, n, "\",")) return NULL;
            p = resolver.end + 2;
        }
        if (!HAS(s, p, n, "\"level\":\"")) return NULL;
        level_at = p + 9;
        level_end = run(s, level_at, n, PLAIN);
        if (!HAS(s, level_end, n, "\",\"msg\":\"")) return NULL;
        p = level_end + 9;
        json = 1;
    } else {
        if (n == 0 || s[0] != 't') {
            p = short_prefix(s, n, &host_at, &host_end);
            if (p < 0) return NULL;
        }
        if (!HAS(s, p, n, "time=\"")) return NULL;
        Py_ssize_t time_at = p + 6, time_end = run(s, time_at, n, PLAIN);
        if (!HAS(s, time_end, n, "\" level=")) return NULL;
        level_at = time_end + 8;
        level_end = run(s, level_at, n, LEVEL);
        if (level_end == level_at || !HAS(s, level_end, n, " msg=\"")) return NULL;
        p = level_end + 6;
        if (!message(s, p, n, 0, &m)) return NULL;
        if (m.kind == FAILED && m.end + 1 < n) { /* ` error="BODY"`, the whole rest, else the Python route's */
            if (!HAS(s, m.end + 1, n, " error=\"")) return NULL;
            error.at = m.end + 9;
            error.end = body_end(s, error.at, n);
            if (error.end != n - 1 || s[error.end] != '"') return NULL;
        } else if (m.kind == NEXT_HOST) { /* ` error="BODY" host=WORD`, the whole rest, else the Python route's */
            if (!HAS(s, m.end + 1, n, " error=\"")) return NULL;
            error.at = m.end + 9;
            error.end = body_end(s, error.at, n);
            if (!HAS(s, error.end, n, "\" host=")) return NULL;
            resolver.at = error.end + 7;
            resolver.end = run(s, resolver.at, n, WORD);
            if (resolver.end != n) return NULL;
        }
        moment = utc_time(s, time_at, time_end);
        if (moment == NULL) return NULL;
    }
    if (json) {
        if (!message(s, p, n, 1, &m)) return NULL;
        moment = json_tail(s, m.end, n);
        if (moment == NULL) return NULL;
    }
    PyObject *host;
    if (host_at >= 0) {
        host = cached(words, s, host_at, host_end, NULL);
    } else if (record_host != NULL && record_host != Py_None) {
        host = Py_NewRef(record_host);
    } else if (node == Py_None || PyUnicode_IS_ASCII(node)) {
        host = Py_NewRef(node);
    } else {
        Py_DECREF(moment);
        return NULL; /* a given node that is not ASCII: the reference escapes it */
    }
    PyObject *fields[FIELDS] = {NULL};
    int i;
    fields[F_TIME] = moment;
    fields[F_NODE] = host;
    fields[F_KIND] = Py_NewRef(message_kinds[m.kind]);
    if (m.kind == NEXT_HOST) {
        /* hosts.next_host_line(error, host): the HostEvent and the reference its URL names */
        PyObject *said = error.at >= 0 ? body_str(s, error.at, error.end) : Py_NewRef(Py_None);
        PyObject *asked = resolver.at >= 0 ? cached(words, s, resolver.at, resolver.end, NULL) : Py_NewRef(Py_None);
        PyObject *pair = said != NULL && asked != NULL ? PyObject_CallFunctionObjArgs(next_host_line, said, asked, NULL)
                                                       : NULL;
        Py_XDECREF(said);
        Py_XDECREF(asked);
        if (pair != NULL && PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2) {
            fields[F_DETAIL] = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
            fields[F_IMAGE] = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
            fields[F_REF] = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        } else if (pair != NULL) {
            PyErr_SetString(PyExc_TypeError, "_fastline: next_host_line gave no (detail, ref) pair");
        }
        Py_XDECREF(pair);
    } else if (m.kind >= IMAGE_CREATE && image_id_shaped(s, m.image)) {
        fields[F_IMAGE] = cached(words, s, m.image.at, m.image.end, NULL);
        fields[F_REF] = Py_XNewRef(fields[F_IMAGE]); /* an image id is its own reference */
    } else {
        fields[F_IMAGE] = cached(images, s, m.image.at, m.image.end, &fields[F_REF]);
    }
    fields[F_LEVEL] = cached(words, s, level_at, level_end, NULL);
    fields[F_RAW] = ascii_str(raw, 0, raw_n < raw_limit ? raw_n : raw_limit);
    for (i = F_IMAGE_ID; i <= F_PULL_METHOD; i++) fields[i] = Py_NewRef(Py_None);
    fields[F_MANAGED] = Py_NewRef(Py_False);
    if (fields[F_DETAIL] == NULL && m.kind != NEXT_HOST) fields[F_DETAIL] = Py_NewRef(Py_None);
    if (m.kind >= IMAGE_CREATE && m.kind <= IMAGE_DELETE) {
        int labelled = carries_label(s, m.a);
        if (labelled < 0) Py_CLEAR(fields[F_MANAGED]);
        else if (labelled) Py_SETREF(fields[F_MANAGED], Py_NewRef(Py_True));
    }
    if (m.kind == FAILED) {
        if (error.at >= 0) Py_SETREF(fields[F_ERROR], body_str(s, error.at, error.end));
    } else if (m.kind == CANCEL) {
        Py_SETREF(fields[F_TIMEOUT], cached(words, s, m.a.at, m.a.end, NULL));
        if (fields[F_TIMEOUT] != NULL)
            Py_SETREF(fields[F_ERROR], PyUnicode_FromFormat("cancelled: no progress in %U", fields[F_TIMEOUT]));
    } else if (m.kind == RESULT) {
        Py_SETREF(fields[F_IMAGE_ID], cached(words, s, m.a.at, m.a.end, NULL)); /* an empty id stays "" */
    } else if (m.kind == STOP) {
        Py_SETREF(fields[F_BYTES_READ], PyLong_FromLongLong(m.bytes_read));
    } else if (m.kind == PULLED) {
        Py_SETREF(fields[F_IMAGE_ID], field_or_none(s, m.a));
        Py_SETREF(fields[F_REPO_TAG], field_or_none(s, m.b));
        Py_SETREF(fields[F_REPO_DIGEST], field_or_none(s, m.c));
        if (m.size.at >= 0) {
            Py_SETREF(fields[F_SIZE_BYTES], PyLong_FromLongLong(m.size_bytes));
            PyObject *duration = plain_seconds(s, m.duration);
            if (duration != NULL || PyErr_Occurred()) {
                Py_SETREF(fields[F_DURATION], duration);
            } else if ((duration = ascii_str(s, m.duration.at, m.duration.end)) != NULL) {
                Py_SETREF(fields[F_DURATION], PyObject_CallOneArg(go_seconds, duration));
                Py_DECREF(duration);
            } else {
                Py_CLEAR(fields[F_DURATION]);
            }
        }
    }
    return new_event(fields);
}

/* ---- `journalctl -o json` records (fastpath._journal_record) ------------------------------ */

static inline Py_ssize_t json_space(text_t s, Py_ssize_t at, Py_ssize_t n) {
    while (at < n && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r')) at++;
    return at;
}

static inline int hex_value(unsigned char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The JSON string at s[at] (its opening quote) as json.loads reads it: the position after its
 * closing quote, or -1 where json.loads would refuse it or (with `out`) it holds an escape of a
 * character beyond ASCII. With `out` (room for n - at bytes), its decoded text and length. */
static Py_ssize_t json_string(text_t s, Py_ssize_t at, Py_ssize_t n, unsigned char *out, Py_ssize_t *length,
                               int *other_escapes) {
    Py_ssize_t p = at + 1, w = 0;
    for (;;) {
        if (p >= n || s[p] < 0x20) return -1; /* cut, or a raw control: json.loads' strict mode refuses it */
        unsigned char c = s[p++];
        if (c == '"') break;
        if (c == '\\') {
            if (p >= n) return -1;
            unsigned char e = s[p++];
            if (e != '"' && e != '\\' && other_escapes != NULL) *other_escapes = 1;
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                if (n - p < 4) return -1;
                int code = 0;
                for (int i = 0; i < 4; i++) {
                    int digit = hex_value(s[p + i]);
                    if (digit < 0) return -1;
                    code = code * 16 + digit;
                }
                p += 4;
                if (code >= 0x80 && out != NULL) return -1; /* beyond ASCII: the Python route's */
                c = (unsigned char)code;
                break;
            }
            default: return -1;
            }
        }
        if (out != NULL) out[w++] = c;
    }
    if (length != NULL) *length = w;
    return p;
}

/* A value json.loads takes that a journal record's other fields hold: a string, null, or an array
 * of byte values. The position after it, or -1 (anything else: the Python route decides). */
static Py_ssize_t json_other_value(text_t s, Py_ssize_t at, Py_ssize_t n) {
    if (at < n && s[at] == '"') return json_string(s, at, n, NULL, NULL, NULL);
    if (HAS(s, at, n, "null")) return at + 4;
    if (at >= n || s[at] != '[') return -1;
    Py_ssize_t p = json_space(s, at + 1, n);
    if (p < n && s[p] == ']') return p + 1;
    for (;;) {
        Py_ssize_t digits = run(s, p, n, DIGIT);
        if (digits == p || (s[p] == '0' && digits > p + 1)) return -1; /* json has no leading zero */
        p = json_space(s, digits, n);
        if (p < n && s[p] == ']') return p + 1;
        if (p >= n || s[p] != ',') return -1;
        p = json_space(s, p + 1, n);
    }
}

/* The characters str.strip takes off an ASCII text. */
static inline int strip_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* Whether s[:n] holds the literal `lit`. */
static int contains(text_t s, Py_ssize_t n, const char *lit) {
    return memmem(s, (size_t)n, lit, strlen(lit)) != NULL;
}

/* A record of `journalctl -o json` whose MESSAGE is a hot logrus text line: its event, read from
 * the MESSAGE as line_event reads a line; NULL with no error set when this route does not know
 * it (a key with an escape, a key of those read given twice, a value of another kind, a MESSAGE
 * that is not a string or holds an escape beyond ASCII, a _HOSTNAME with an escape). */
static PyObject *record_event(text_t s, Py_ssize_t n, PyObject *node) {
    unsigned char small[2048], *msg = n <= (Py_ssize_t)sizeof small ? small : PyMem_Malloc((size_t)n);
    if (msg == NULL) return PyErr_NoMemory();
    Py_ssize_t msg_n = -1, host_at = -1, host_end = -1, p = json_space(s, 1, n);
    PyObject *event = NULL;
    int hosts = 0, other_escapes = 0;
    if (p < n && s[p] == '}') goto done;
    for (;;) {
        if (p >= n || s[p] != '"') goto done;
        Py_ssize_t key_at = p + 1, key_end = run(s, key_at, n, PLAIN);
        if (key_end >= n || s[key_end] != '"') goto done; /* (an escape in a key: MESS\u0041GE) */
        p = json_space(s, key_end + 1, n);
        if (p >= n || s[p] != ':') goto done;
        p = json_space(s, p + 1, n);
        Py_ssize_t key_n = key_end - key_at;
        if (key_n == 7 && memcmp(s + key_at, "MESSAGE", 7) == 0) {
            if (msg_n >= 0 || p >= n || s[p] != '"') goto done;
            p = json_string(s, p, n, msg, &msg_n, &other_escapes);
        } else if (key_n == 9 && memcmp(s + key_at, "_HOSTNAME", 9) == 0) {
            if (hosts++) goto done;
            if (p < n && s[p] == '"') {
                host_at = p + 1;
                host_end = run(s, host_at, n, PLAIN);
                if (host_end >= n || s[host_end] != '"') goto done;
                p = host_end + 1;
            } else {
                p = json_other_value(s, p, n); /* not a string: journal_host gives None */
            }
        } else {
            p = json_other_value(s, p, n);
        }
        if (p < 0) goto done;
        p = json_space(s, p, n);
        if (p < n && s[p] == ',') {
            p = json_space(s, p + 1, n);
            continue;
        }
        if (p >= n || s[p] != '}' || json_space(s, p + 1, n) != n) goto done; /* (json.loads' "Extra data") */
        break;
    }
    if (msg_n < 0) goto done;
    Py_ssize_t lo = 0, hi = msg_n;
    while (lo < hi && strip_space(msg[lo])) lo++;
    while (hi > lo && strip_space(msg[hi - 1])) hi--;
    if (!HAS(msg, lo, hi, "time=\"")) goto done;
    PyObject *host = host_at >= 0 && host_end > host_at ? cached(words, s, host_at, host_end, NULL) : Py_NewRef(Py_None);
    if (host == NULL) goto done;
    event = line_event(msg + lo, hi - lo, node, s, n, host);
    Py_DECREF(host);
    if (event == NULL) goto done;
    /* parse_line reads a line only when the line itself names a pull keyword, parse_why_line one
     * that names a why keyword (a MESSAGE may spell its message with escapes: \u0050ullImage).
     * The message read names its keyword, and with no escape in MESSAGE but `\"` and `\\` (which
     * stand for characters no keyword holds) the raw text names it too; else look. */
    int named = !other_escapes
                || (*(PyObject **)((char *)event + field_offsets[F_KIND]) == message_kinds[NEXT_HOST]
                        ? contains(s, n, "trying next host")
                        : contains(s, n, "PullImage") || contains(s, n, "Pulled image")
                              || contains(s, n, "pulling image") || contains(s, n, "ImageCreate event")
                              || contains(s, n, "ImageUpdate event") || contains(s, n, "ImageDelete event"));
    if (!named) Py_CLEAR(event);
done:
    if (msg != small) PyMem_Free(msg);
    return event;
}

/* Whether the line is ASCII: 8 bytes at a time. */
static int is_ascii(text_t s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned long long word;
        memcpy(&word, s + i, 8);
        if (word & 0x8080808080808080ULL) return 0;
    }
    for (; i < n; i++) {
        if (s[i] & 0x80) return 0;
    }
    return 1;
}

static PyObject *batch(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    (void)module;
    if (argc != 3) {
        PyErr_SetString(PyExc_TypeError, "batch(lines, nodes, node)");
        return NULL;
    }
    if (event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_fastline.configure was not called");
        return NULL;
    }
    /* Tuples of our own: the normaliser and the duration reader are Python code, run between
     * lines, and must not be able to free a line (or a node) while it is read. */
    PyObject *lines = PySequence_Tuple(argv[0]);
    if (lines == NULL) return NULL;
    PyObject *nodes = NULL, *node = argv[2], *events = NULL, *misses = NULL, *result = NULL;
    int per_line = argv[1] != Py_None ? PyObject_IsTrue(argv[1]) : 0;
    if (per_line < 0 || (per_line && (nodes = PySequence_Tuple(argv[1])) == NULL)) goto fail;
    Py_ssize_t count = PyTuple_GET_SIZE(lines);
    events = PyList_New(count);
    misses = PyList_New(0);
    if (events == NULL || misses == NULL) goto fail;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *line = PyTuple_GET_ITEM(lines, index), *event = NULL;
        text_t s = NULL;
        Py_ssize_t n = 0;
        if (PyBytes_Check(line)) {
            s = (text_t)PyBytes_AS_STRING(line);
            n = PyBytes_GET_SIZE(line);
            if (n > max_line || !is_ascii(s, n)) s = NULL;
        } else if (PyUnicode_Check(line) && PyUnicode_IS_ASCII(line)) {
            s = PyUnicode_1BYTE_DATA(line);
            n = PyUnicode_GET_LENGTH(line);
            if (n > max_line) s = NULL;
        }
        if (s != NULL) {
            if (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
                while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--; /* rstrip("\r\n") */
            }
            PyObject *on = node;
            if (per_line) {
                if (index >= PyTuple_GET_SIZE(nodes)) {
                    PyErr_SetString(PyExc_IndexError, "fewer nodes than lines");
                    goto fail;
                }
                on = Py_NewRef(PyTuple_GET_ITEM(nodes, index));
                if (on != Py_None && !PyUnicode_Check(on)) {
                    Py_DECREF(on);
                    on = NULL;
                }
            } else if (on != Py_None && !PyUnicode_Check(on)) {
                on = NULL;
            }
            if (on != NULL) {
                event = n > 0 && s[0] == '{' && contains(s, n, "\"MESSAGE\":\"")
                            ? record_event(s, n, on)
                            : line_event(s, n, on, s, n, NULL);
                if (per_line) Py_DECREF(on);
                if (event == NULL && PyErr_Occurred()) goto fail;
            }
        }
        if (event == NULL) {
            PyObject *number = PyLong_FromSsize_t(index);
            if (number == NULL || PyList_Append(misses, number) < 0) {
                Py_XDECREF(number);
                goto fail;
            }
            Py_DECREF(number);
            event = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(events, index, event);
    }
    result = PyTuple_Pack(2, events, misses);
fail:
    Py_DECREF(lines);
    Py_XDECREF(nodes);
    Py_XDECREF(events);
    Py_XDECREF(misses);
    return result;
}

/* Each field's slot offset in `type`, after checking that its fields are field_names, in that
 * order, each a plain object member, into `offsets`: 0, or -1 with an error set. */
static int find_offsets(PyObject *type, PyObject *names, Py_ssize_t *offsets) {
    if (!PyType_Check(type) || !PyTuple_Check(names) || PyTuple_GET_SIZE(names) != FIELDS) {
        PyErr_SetString(PyExc_ValueError, "_fastline: the event type's fields are not PullEvent's");
        return -1;
    }
    for (int i = 0; i < FIELDS; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, field_names[i]) != 0) {
            PyErr_Format(PyExc_ValueError, "_fastline: field %d of the event type is not %s", i, field_names[i]);
            return -1;
        }
        PyObject *member = PyObject_GetAttr(type, name);
        if (member == NULL) return -1;
        int plain = Py_IS_TYPE(member, &PyMemberDescr_Type)
                    && ((PyMemberDescrObject *)member)->d_member->type == T_OBJECT_EX
                    && !(((PyMemberDescrObject *)member)->d_member->flags & READONLY);
        if (plain) offsets[i] = ((PyMemberDescrObject *)member)->d_member->offset;
        Py_DECREF(member);
        if (!plain) {
            PyErr_Format(PyExc_ValueError, "_fastline: field %s of the event type is not a slot", field_names[i]);
            return -1;
        }
    }
    return 0;
}

static PyObject *configure(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    (void)module;
    if (argc != 20) {
        PyErr_SetString(PyExc_TypeError,
                        "configure(event_type, field_names, start, result, stop, pulled, failed, cancel, normalize, "
                        "seconds, first_year, last_year, raw_limit, max_line, image_create, image_update, "
                        "image_delete, host, managed_labels, next_host_line)");
        return NULL;
    }
    PyObject *labels = argv[18];
    if (!PyTuple_Check(labels)) {
        PyErr_SetString(PyExc_TypeError, "_fastline: managed_labels is not a tuple");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(labels); i++) {
        PyObject *label = PyTuple_GET_ITEM(labels, i);
        if (!PyUnicode_Check(label) || !PyUnicode_IS_ASCII(label) || PyUnicode_GET_LENGTH(label) == 0) {
            PyErr_SetString(PyExc_ValueError, "_fastline: a managed label is not a non-empty ASCII str");
            return NULL;
        }
    }
    long first = PyLong_AsLong(argv[10]), last = PyLong_AsLong(argv[11]);
    Py_ssize_t raw = PyLong_AsSsize_t(argv[12]), most = PyLong_AsSsize_t(argv[13]);
    Py_ssize_t offsets[FIELDS]; /* copied once all are found: a refused type changes nothing */
    if (PyErr_Occurred() || find_offsets(argv[0], argv[1], offsets) < 0) return NULL;
    memcpy(field_offsets, offsets, sizeof offsets);
    Py_XSETREF(event_type, Py_NewRef(argv[0]));
    /* the kinds' arguments, in the order of the messages (START … CANCEL, then IMAGE_CREATE … NEXT_HOST) */
    static const int kind_arguments[NEXT_HOST + 1] = {2, 3, 4, 5, 6, 7, 14, 15, 16, 17};
    for (int kind = 0; kind <= NEXT_HOST; kind++) Py_XSETREF(message_kinds[kind], Py_NewRef(argv[kind_arguments[kind]]));
    Py_XSETREF(normalize_ref, Py_NewRef(argv[8]));
    Py_XSETREF(go_seconds, Py_NewRef(argv[9]));
    Py_XSETREF(managed_labels, Py_NewRef(labels));
    Py_XSETREF(next_host_line, Py_NewRef(argv[19]));
    for (int i = 0; i < CACHE_SLOTS; i++) { /* strings normalised by an earlier normalize */
        Py_CLEAR(images[i].text);
        Py_CLEAR(images[i].ref);
    }
    first_year = first;
    last_year = last;
    raw_limit = raw;
    max_line = most;
    Py_RETURN_NONE;
}

/* ---- PullEvents as bytes: the scanning child's frames (sources/scanproc.py) ----
 *
 * A pickle of each event's slot values costs ~6.5 µs an event to write and ~3 to read back; this
 * codec ~1 and ~1.4 (the same run). Layout (native byte order: the
 * writer is the reader's own child): "PWE1", the event count (uint32), then for each event its
 * FIELDS values, each a tag byte and its payload. A str that an earlier value of the frame was
 * (the same object: the parse routes share repeated names) is written as its number; a time as
 * its year (2 bytes), month, day, hour, minute, second (a byte each) and microsecond (4). A value of
 * any other type, or one the tags cannot hold exactly (a datetime in another zone, an int beyond
 * 64 bits, a str with a surrogate, a `detail`), is a pickle of its own. */
enum {
    V_NONE, V_STR, V_STR_AGAIN, V_INT, V_FLOAT, V_TRUE, V_FALSE, V_TIME_UTC, V_TIME_NAIVE, V_KIND, V_PICKLE,
    V_SHORT_STR, /* a str of fewer than 256 bytes: a one-byte length */
};
static PyObject *kinds, *pickle_dumps, *pickle_loads;

typedef struct {
    char *data;
    size_t size, used;
} buffer_t;

static int grow(buffer_t *out, size_t more) {
    if (out->used + more <= out->size) return 0;
    size_t size = out->size ? out->size : 4096;
    while (size < out->used + more) size *= 2;
    char *data = PyMem_Realloc(out->data, size);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = data;
    out->size = size;
    return 0;
}

static int put(buffer_t *out, const void *bytes, size_t length) {
    if (grow(out, length) < 0) return -1;
    memcpy(out->data + out->used, bytes, length);
    out->used += length;
    return 0;
}

static int put_tag(buffer_t *out, unsigned char tag) { return put(out, &tag, 1); }

static int put_sized(buffer_t *out, unsigned char tag, const char *bytes, Py_ssize_t length) {
    uint32_t size = (uint32_t)length;
    if (length > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a value too long for a frame");
        return -1;
    }
    return put_tag(out, tag) < 0 || put(out, &size, 4) < 0 || put(out, bytes, (size_t)length) < 0 ? -1 : 0;
}

#define SEEN_SLOTS 4096
typedef struct {
    PyObject *text;
    uint32_t number;
} seen_t;

static int put_pickle(buffer_t *out, PyObject *value) {
    PyObject *data = PyObject_CallOneArg(pickle_dumps, value);
    if (data == NULL) return -1;
    int failed = !PyBytes_Check(data) || put_sized(out, V_PICKLE, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)) < 0;
    if (failed && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "pickle.dumps gave no bytes");
    Py_DECREF(data);
    return failed ? -1 : 0;
}

/* A pickle may run Python code that frees a string written before (an object's __reduce__), and
 * a new one may take its address: the table of strings written forgets them all after it. */
static int put_pickle_forgetting(buffer_t *out, PyObject *value, seen_t *seen) {
    int done = put_pickle(out, value);
    memset(seen, 0, SEEN_SLOTS * sizeof(seen_t));
    return done;
}

static int put_value(buffer_t *out, PyObject *value, seen_t *seen, uint32_t *strings) {
    if (value == Py_None) return put_tag(out, V_NONE);
    if (value == Py_True) return put_tag(out, V_TRUE);
    if (value == Py_False) return put_tag(out, V_FALSE);
    if (PyUnicode_CheckExact(value)) {
        seen_t *slot = &seen[((uintptr_t)value >> 4) & (SEEN_SLOTS - 1)];
        if (slot->text == value) {
            return put_tag(out, V_STR_AGAIN) < 0 || put(out, &slot->number, 4) < 0 ? -1 : 0;
        }
        Py_ssize_t length;
        const char *utf8 = PyUnicode_AsUTF8AndSize(value, &length);
        if (utf8 == NULL) { /* a surrogate */
            PyErr_Clear();
            return put_pickle_forgetting(out, value, seen);
        }
        /* the value's number is what the reader counts: every V_STR or V_SHORT_STR, seen again or not */
        slot->text = value;
        slot->number = (*strings)++;
        if (length < 256) {
            unsigned char head[2] = {V_SHORT_STR, (unsigned char)length};
            return put(out, head, 2) < 0 || put(out, utf8, (size_t)length) < 0 ? -1 : 0;
        }
        return put_sized(out, V_STR, utf8, length);
    }
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (number == -1 && PyErr_Occurred()) return -1;
        if (overflow) return put_pickle_forgetting(out, value, seen);
        return put_tag(out, V_INT) < 0 || put(out, &number, 8) < 0 ? -1 : 0;
    }
    if (PyFloat_CheckExact(value)) {
        double number = PyFloat_AS_DOUBLE(value);
        return put_tag(out, V_FLOAT) < 0 || put(out, &number, 8) < 0 ? -1 : 0;
    }
    if (PyDateTime_CheckExact(value) && PyDateTime_DATE_GET_FOLD(value) == 0) {
        PyObject *zone = PyDateTime_DATE_GET_TZINFO(value);
        if (zone == Py_None || zone == utc) {
            unsigned char parts[12] = {zone == utc ? V_TIME_UTC : V_TIME_NAIVE};
            uint16_t year = (uint16_t)PyDateTime_GET_YEAR(value);
            uint32_t micro = (uint32_t)PyDateTime_DATE_GET_MICROSECOND(value);
            memcpy(parts + 1, &year, 2);
            parts[3] = (unsigned char)PyDateTime_GET_MONTH(value);
            parts[4] = (unsigned char)PyDateTime_GET_DAY(value);
            parts[5] = (unsigned char)PyDateTime_DATE_GET_HOUR(value);
            parts[6] = (unsigned char)PyDateTime_DATE_GET_MINUTE(value);
            parts[7] = (unsigned char)PyDateTime_DATE_GET_SECOND(value);
            memcpy(parts + 8, &micro, 4);
            return put(out, parts, sizeof parts);
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kinds); i++) {
        if (PyTuple_GET_ITEM(kinds, i) == value) {
            unsigned char index = (unsigned char)i;
            return put_tag(out, V_KIND) < 0 || put(out, &index, 1) < 0 ? -1 : 0;
        }
    }
    return put_pickle_forgetting(out, value, seen);
}

static PyObject *encode_events(PyObject *module, PyObject *events) {
    (void)module;
    if (kinds == NULL || event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_fastline.configure_codec was not called");
        return NULL;
    }
    PyObject *list = PySequence_Tuple(events); /* (pickle.dumps may run Python code: ours to hold) */
    if (list == NULL) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(list);
    buffer_t out = {NULL, 0, 0};
    seen_t *seen = PyMem_Calloc(SEEN_SLOTS, sizeof(seen_t));
    uint32_t strings = 0, total = (uint32_t)count;
    PyObject *result = NULL;
    if (seen == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (count > (Py_ssize_t)UINT32_MAX || put(&out, "PWE1", 4) < 0 || put(&out, &total, 4) < 0) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *event = PyTuple_GET_ITEM(list, i);
        if (!Py_IS_TYPE(event, (PyTypeObject *)event_type)) {
            PyErr_SetString(PyExc_TypeError, "not a PullEvent");
            goto done;
        }
        for (int field = 0; field < FIELDS; field++) {
            PyObject *value = *(PyObject **)((char *)event + field_offsets[field]);
            if (value == NULL) {
                PyErr_Format(PyExc_AttributeError, "a PullEvent without %s", field_names[field]);
                goto done;
            }
            Py_INCREF(value);
            int failed = put_value(&out, value, seen, &strings) < 0;
            Py_DECREF(value);
            if (failed) goto done;
        }
    }
    result = PyBytes_FromStringAndSize(out.data, (Py_ssize_t)out.used);
done:
    PyMem_Free(out.data);
    PyMem_Free(seen);
    Py_DECREF(list);
    return result;
}

typedef struct {
    const char *data;
    Py_ssize_t size, at;
} reader_t;

static const char *take(reader_t *in, Py_ssize_t length) {
    if (length < 0 || in->size - in->at < length) {
        PyErr_SetString(PyExc_ValueError, "a cut or malformed event frame");
        return NULL;
    }
    const char *at = in->data + in->at;
    in->at += length;
    return at;
}

static PyObject *take_value(reader_t *in, PyObject *strings) {
    const char *at = take(in, 1);
    if (at == NULL) return NULL;
    unsigned char tag = (unsigned char)*at;
    uint32_t size;
    switch (tag) {
    case V_NONE: Py_RETURN_NONE;
    case V_TRUE: Py_RETURN_TRUE;
    case V_FALSE: Py_RETURN_FALSE;
    case V_SHORT_STR:
    case V_STR:
    case V_PICKLE: {
        if (tag == V_SHORT_STR) {
            if ((at = take(in, 1)) == NULL) return NULL;
            size = (unsigned char)*at;
        } else {
            if ((at = take(in, 4)) == NULL) return NULL;
            memcpy(&size, at, 4);
        }
        if ((at = take(in, (Py_ssize_t)size)) == NULL) return NULL;
        if (tag == V_PICKLE) {
            PyObject *data = PyBytes_FromStringAndSize(at, (Py_ssize_t)size);
            if (data == NULL) return NULL;
            PyObject *value = PyObject_CallOneArg(pickle_loads, data);
            Py_DECREF(data);
            return value;
        }
        PyObject *text = PyUnicode_DecodeUTF8(at, (Py_ssize_t)size, "strict");
        if (text != NULL && PyList_Append(strings, text) < 0) Py_CLEAR(text);
        return text;
    }
    case V_STR_AGAIN:
        if ((at = take(in, 4)) == NULL) return NULL;
        memcpy(&size, at, 4);
        if ((Py_ssize_t)size >= PyList_GET_SIZE(strings)) {
            PyErr_SetString(PyExc_ValueError, "a malformed event frame (string number)");
            return NULL;
        }
        return Py_NewRef(PyList_GET_ITEM(strings, size));
    case V_INT: {
        long long number;
        if ((at = take(in, 8)) == NULL) return NULL;
        memcpy(&number, at, 8);
        return PyLong_FromLongLong(number);
    }
    case V_FLOAT: {
        double number;
        if ((at = take(in, 8)) == NULL) return NULL;
        memcpy(&number, at, 8);
        return PyFloat_FromDouble(number);
    }
    case V_TIME_UTC:
    case V_TIME_NAIVE: {
        uint16_t year;
        uint32_t micro;
        if ((at = take(in, 11)) == NULL) return NULL;
        memcpy(&year, at, 2);
        memcpy(&micro, at + 7, 4);
        return PyDateTimeAPI->DateTime_FromDateAndTime(year, (unsigned char)at[2], (unsigned char)at[3],
                                                       (unsigned char)at[4], (unsigned char)at[5],
                                                       (unsigned char)at[6], (int)micro,
                                                       tag == V_TIME_UTC ? utc : Py_None, PyDateTimeAPI->DateTimeType);
    }
    case V_KIND:
        if ((at = take(in, 1)) == NULL) return NULL;
        if ((unsigned char)*at >= PyTuple_GET_SIZE(kinds)) {
            PyErr_SetString(PyExc_ValueError, "a malformed event frame (kind)");
            return NULL;
        }
        return Py_NewRef(PyTuple_GET_ITEM(kinds, (unsigned char)*at));
    default:
        PyErr_Format(PyExc_ValueError, "a malformed event frame (tag %d)", tag);
        return NULL;
    }
}

static PyObject *decode_events(PyObject *module, PyObject *data) {
    (void)module;
    if (kinds == NULL || event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_fastline.configure_codec was not called");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
    reader_t in = {view.buf, view.len, 0};
    PyObject *events = NULL, *strings = PyList_New(0);
    const char *head = take(&in, 8);
    uint32_t count;
    if (strings == NULL || head == NULL) goto done;
    if (memcmp(head, "PWE1", 4) != 0) {
        PyErr_SetString(PyExc_ValueError, "not an event frame");
        goto done;
    }
    memcpy(&count, head + 4, 4);
    if ((Py_ssize_t)count > (in.size - in.at) / FIELDS) { /* each value takes a byte at least */
        PyErr_SetString(PyExc_ValueError, "a cut or malformed event frame");
        goto done;
    }
    events = PyList_New((Py_ssize_t)count);
    if (events == NULL) goto done;
    for (uint32_t i = 0; i < count; i++) {
        PyObject *fields[FIELDS] = {NULL};
        for (int field = 0; field < FIELDS; field++) {
            if ((fields[field] = take_value(&in, strings)) == NULL) break; /* (no more reads with an error set) */
        }
        PyObject *event = new_event(fields);
        if (event == NULL) {
            Py_CLEAR(events);
            goto done;
        }
        PyList_SET_ITEM(events, i, event);
    }
    if (in.at != in.size) {
        PyErr_SetString(PyExc_ValueError, "bytes after the events of a frame");
        Py_CLEAR(events);
    }
done:
    Py_XDECREF(strings);
    PyBuffer_Release(&view);
    return events;
}

static PyObject *configure_codec(PyObject *module, PyObject *const *argv, Py_ssize_t argc) {
    (void)module;
    if (argc != 3 || !PyTuple_Check(argv[0]) || PyTuple_GET_SIZE(argv[0]) > 255) {
        PyErr_SetString(PyExc_TypeError, "configure_codec(kinds: tuple, dumps, loads)");
        return NULL;
    }
    Py_XSETREF(kinds, Py_NewRef(argv[0]));
    Py_XSETREF(pickle_dumps, Py_NewRef(argv[1]));
    Py_XSETREF(pickle_loads, Py_NewRef(argv[2]));
    Py_RETURN_NONE;
}

/* timestamps.iso of a UTC datetime (its `%`-format of the fields, ~0.75 µs; this ~0.1): a report
 * writes two or three a pull. None for anything else (a subclass, another zone): the caller's. */
static PyObject *iso_utc(PyObject *module, PyObject *moment) {
    if (!PyDateTime_CheckExact(moment) || !((PyDateTime_DateTime *)moment)->hastzinfo
        || ((PyDateTime_DateTime *)moment)->tzinfo != utc)
        Py_RETURN_NONE;
    char text[40];
    int length = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", PyDateTime_GET_YEAR(moment),
                          PyDateTime_GET_MONTH(moment), PyDateTime_GET_DAY(moment), PyDateTime_DATE_GET_HOUR(moment),
                          PyDateTime_DATE_GET_MINUTE(moment), PyDateTime_DATE_GET_SECOND(moment),
                          PyDateTime_DATE_GET_MICROSECOND(moment));
    return PyUnicode_FromStringAndSize(text, length);
}

static PyMethodDef methods[] = {
    {"iso_utc", iso_utc, METH_O, "iso_utc(moment) -> str | None: timestamps.iso of a UTC datetime, else None."},
    {"batch", (PyCFunction)(void (*)(void))batch, METH_FASTCALL,
     "batch(lines, nodes, node) -> (events, misses): each line's PullEvent, or None where this route "
     "does not know it (then its number is in misses)."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(event_type, field_names, start, result, stop, pulled, failed, cancel, normalize, seconds, "
     "first_year, last_year, raw_limit, max_line): what batch builds its events with."},
    {"configure_codec", (PyCFunction)(void (*)(void))configure_codec, METH_FASTCALL,
     "configure_codec(kinds, dumps, loads): the event kinds (at most 255) and the pickle functions "
     "for the values the codec has no tag for."},
    {"encode_events", encode_events, METH_O, "encode_events(events) -> bytes: PullEvents as a frame."},
    {"decode_events", decode_events, METH_O, "decode_events(frame) -> list[PullEvent]: encode_events' events."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fastline", "The compiled first route of parsers/fastpath.py (issue 11).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastline(void) {
    fill_classes();
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    utc = Py_NewRef(PyDateTimeAPI->TimeZone_UTC);
    return PyModule_Create(&module_def);
}
