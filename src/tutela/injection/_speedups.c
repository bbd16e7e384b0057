/* The injection detector's hottest loops in C (optional at install: each has a Python twin
 * that gives the same results, and the tests hold them equal).
 *
 * ``Table.best_sum``: the classifier's inner loop: tokenise, look up weights, find the best
 * window. Same tokens as ``features.tokens`` (the regex ``[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]``
 * over lower-cased text, tokens cut at ``max_token`` code points) and same sums, in the
 * same order, as ``Model.python_logit``, so the two agree to the last bit. What it saves is
 * the Python objects: a token or a bigram is looked up by its code points in a read-only
 * table built once per model, so scoring a text allocates one array of prefix sums and
 * nothing per token, and runs without the GIL. The table hashes code points with a
 * per-table random seed and compares the whole key on a hash match, so a crafted text can
 * neither collide its way to another feature's weight nor pile its tokens into one chain.
 *
 * ``split_words``, ``words`` and ``sentence_cuts``: the gloss's split of a text into
 * separators and words (``gloss._python_split_words``, ``gloss._WORD.findall``) and where
 * its sentences end (``gloss._SENTENCE_CUT``), with ``re``'s own Unicode tables for ``\w``,
 * ``\d`` and ``\s``, without a regex engine stepping through every character.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    double weight;
    uint32_t offset; /* into Table.keys */
    uint32_t length; /* code points; 0 marks an empty slot (the empty key is never looked up) */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    size_t mask;
    Py_UCS4 *keys;
    Py_ssize_t size;
    uint64_t seed;
} Table;

/* A run of code points inside a str: a token of the text, or "<s>". */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t start;
    Py_ssize_t length;
} Span;

static const Py_UCS4 START_MARK[3] = {'<', 's', '>'};

static inline uint64_t step(uint64_t h, Py_UCS4 c) { return (h ^ (uint64_t)c) * 0x100000001b3ULL; }

static inline uint64_t finish(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static inline uint64_t span_state(uint64_t h, const Span *s)
{
    for (Py_ssize_t i = 0; i < s->length; i++)
        h = step(h, PyUnicode_READ(s->kind, s->data, s->start + i));
    return h;
}

static inline int span_equals(const Py_UCS4 *key, const Span *s)
{
    for (Py_ssize_t i = 0; i < s->length; i++)
        if (key[i] != PyUnicode_READ(s->kind, s->data, s->start + i))
            return 0;
    return 1;
}

/* 0 if ``text`` is a str whose characters can be read (Python before 3.12 may hold a str in
 * a legacy form until asked), else -1 with an exception set. */
static int readable(PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "a str is needed");
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0)
        return -1;
#endif
    return 0;
}

/* The weight of the key ``first`` (or ``first + " " + second``), if the table holds it. */
static inline int lookup(const Table *t, uint64_t state, const Span *first, const Span *second,
                         double *weight)
{
    Py_ssize_t length = first->length + (second ? 1 + second->length : 0);
    uint64_t hash = finish(state);
    for (size_t i = (size_t)hash & t->mask;; i = (i + 1) & t->mask) {
        const Slot *slot = &t->slots[i];
        if (slot->length == 0)
            return 0;
        if (slot->hash != hash || (Py_ssize_t)slot->length != length)
            continue;
        const Py_UCS4 *key = t->keys + slot->offset;
        if (!span_equals(key, first))
            continue;
        if (second && (key[first->length] != ' ' || !span_equals(key + first->length + 1, second)))
            continue;
        *weight = slot->weight;
        return 1;
    }
}

static void Table_dealloc(Table *self)
{
    PyMem_Free(self->slots);
    PyMem_Free(self->keys);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Table_init(Table *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"weights", "seed", NULL};
    PyObject *weights;
    unsigned long long seed;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!K", names, &PyDict_Type, &weights, &seed))
        return -1;
    if (self->slots) {
        PyErr_SetString(PyExc_TypeError, "a Table is built once");
        return -1;
    }
    Py_ssize_t count = PyDict_Size(weights), total = 0, pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(weights, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "feature names must be str");
            return -1;
        }
        total += PyUnicode_GET_LENGTH(key);
    }
    if (total >= (Py_ssize_t)UINT32_MAX || count >= (Py_ssize_t)(UINT32_MAX / 4)) {
        PyErr_SetString(PyExc_ValueError, "too many features");
        return -1;
    }
    size_t capacity = 8;
    while (capacity < (size_t)count * 2)
        capacity <<= 1;
    self->slots = PyMem_Calloc(capacity, sizeof(Slot));
    self->keys = PyMem_Malloc((size_t)(total ? total : 1) * sizeof(Py_UCS4));
    if (!self->slots || !self->keys) {
        PyErr_NoMemory();
        return -1;
    }
    self->mask = capacity - 1;
    self->seed = (uint64_t)seed;
    uint32_t offset = 0;
    pos = 0;
    while (PyDict_Next(weights, &pos, &key, &value)) {
        Py_ssize_t length = PyUnicode_GET_LENGTH(key);
        if (length == 0)
            continue; /* a token is never empty */
        if (readable(key) < 0)
            return -1;
        /* Numbers only, read without running Python code, so the dict cannot change here. */
        double weight;
        if (PyFloat_Check(value)) {
            weight = PyFloat_AS_DOUBLE(value);
        } else if (PyLong_Check(value)) {
            weight = PyLong_AsDouble(value);
            if (weight == -1.0 && PyErr_Occurred())
                return -1;
        } else {
            PyErr_SetString(PyExc_TypeError, "weights must be float or int");
            return -1;
        }
        if ((Py_ssize_t)offset + length > total || self->size >= count) {
            PyErr_SetString(PyExc_RuntimeError, "weights changed while the table was built");
            return -1;
        }
        Span span = {PyUnicode_KIND(key), PyUnicode_DATA(key), 0, length};
        if (!PyUnicode_AsUCS4(key, self->keys + offset, length, 0))
            return -1;
        uint64_t hash = finish(span_state(self->seed, &span));
        size_t i = (size_t)hash & self->mask;
        while (self->slots[i].length)
            i = (i + 1) & self->mask;
        self->slots[i] = (Slot){hash, weight, offset, (uint32_t)length};
        offset += (uint32_t)length;
        self->size++;
    }
    return 0;
}

static inline int is_word(Py_UCS4 c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static inline int is_letter(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }

/* best_sum(text, unknown_unigram, unknown_bigram, window, stride, max_token) -> (count, best)
 *
 * ``count`` tokens; ``best`` is the highest sum of per-token weights over the windows
 * ``Model.logit`` scores (the whole text if it has at most ``window`` tokens). */
static PyObject *Table_best_sum(Table *self, PyObject *args)
{
    PyObject *text;
    double unknown_unigram, unknown_bigram;
    Py_ssize_t window, stride, max_token;
    if (!PyArg_ParseTuple(args, "Uddnnn", &text, &unknown_unigram, &unknown_bigram, &window,
                          &stride, &max_token))
        return NULL;
    if (window < 1 || stride < 1 || max_token < 1) {
        PyErr_SetString(PyExc_ValueError, "window, stride and max_token must be positive");
        return NULL;
    }
    if (!self->slots || !self->keys) {
        PyErr_SetString(PyExc_ValueError, "the Table was not built");
        return NULL;
    }
    if (readable(text) < 0)
        return NULL;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* prefix[k]: the sum of the first k tokens' weights; a text has at most n tokens */
    double *prefix = PyMem_RawMalloc((size_t)(n + 1) * sizeof(double));
    if (!prefix)
        return PyErr_NoMemory();
    Py_ssize_t count = 0;
    double best = 0.0;
    Py_BEGIN_ALLOW_THREADS
    Span previous = {PyUnicode_4BYTE_KIND, START_MARK, 0, 3};
    uint64_t previous_state = span_state(self->seed, &previous);
    prefix[0] = 0.0;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(c)) {
            i++;
            continue;
        }
        Py_ssize_t start = i++;
        if (is_word(c)) {
            while (i < n && is_word(PyUnicode_READ(kind, data, i)))
                i++;
            if (i + 1 < n && PyUnicode_READ(kind, data, i) == '\'' &&
                is_letter(PyUnicode_READ(kind, data, i + 1))) {
                i += 2;
                while (i < n && is_letter(PyUnicode_READ(kind, data, i)))
                    i++;
            }
        }
        Py_ssize_t length = i - start < max_token ? i - start : max_token;
        Span token = {kind, data, start, length};
        uint64_t state = span_state(self->seed, &token);
        double unigram, bigram;
        if (!lookup(self, state, &token, NULL, &unigram))
            unigram = unknown_unigram;
        uint64_t pair_state = span_state(step(previous_state, ' '), &token);
        if (!lookup(self, pair_state, &previous, &token, &bigram))
            bigram = unknown_bigram;
        prefix[count + 1] = prefix[count] + (unigram + bigram);
        count++;
        previous = token;
        previous_state = state;
    }
    if (count <= window) {
        best = prefix[count];
    } else {
        Py_ssize_t last = (count - window) / stride * stride;
        best = prefix[window] - prefix[0];
        for (Py_ssize_t s = stride; s <= last; s += stride) {
            double sum = prefix[s + window] - prefix[s];
            if (sum > best)
                best = sum;
        }
        if (last + window < count) {
            double sum = prefix[count] - prefix[count - window];
            if (sum > best)
                best = sum;
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(prefix);
    return Py_BuildValue("nd", count, best);
}

static PyObject *Table_len(Table *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(self->size);
}

static inline int is_word_char(Py_UCS4 c) { return Py_UNICODE_ISALNUM(c) || c == '_'; }

static int append_slice(PyObject *list, PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *part = PyUnicode_Substring(text, start, end);
    if (!part)
        return -1;
    int failed = PyList_Append(list, part);
    Py_DECREF(part);
    return failed;
}

/* The words of ``text`` and, with ``separators``, the separators around them:
 * [separator, word, separator, ..., separator], else [word, ...].
 *
 * A word is a run of ``\\w`` characters (re's: alphanumeric or "_") holding no decimal digit
 * and no "_"; every other character, other runs included, is part of a separator. */
static PyObject *find_words(PyObject *text, int separators)
{
    if (readable(text) < 0)
        return NULL;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *parts = PyList_New(0);
    if (!parts)
        return NULL;
    Py_ssize_t gap = 0, i = 0; /* the separator being read starts at ``gap`` */
    while (i < n) {
        if (!is_word_char(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int word = 1;
        for (; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (!is_word_char(c))
                break;
            if (c == '_' || Py_UNICODE_ISDECIMAL(c))
                word = 0;
        }
        if (!word)
            continue;
        if ((separators && append_slice(parts, text, gap, start) < 0) ||
            append_slice(parts, text, start, i) < 0) {
            Py_DECREF(parts);
            return NULL;
        }
        gap = i;
    }
    if (separators && append_slice(parts, text, gap, n) < 0) {
        Py_DECREF(parts);
        return NULL;
    }
    return parts;
}

static PyObject *split_words(PyObject *Py_UNUSED(module), PyObject *text)
{
    return find_words(text, 1);
}

static PyObject *words(PyObject *Py_UNUSED(module), PyObject *text)
{
    return find_words(text, 0);
}

/* sentence_cuts(text) -> [(start, end), ...]: what lies between two sentences, as
 * ``gloss._SENTENCE_CUT`` finds it: the spaces after ". ", "! " or "? " (all of them, line
 * breaks included), nothing after a CJK full stop, exclamation or question mark (it stays
 * with its sentence), and a run of line breaks. */
static PyObject *sentence_cuts(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (readable(text) < 0)
        return NULL;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *cuts = PyList_New(0);
    if (!cuts)
        return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t start, end;
        if ((c == '.' || c == '!' || c == '?') && i + 1 < n &&
            Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i + 1))) {
            start = end = i + 1;
            while (end < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end)))
                end++;
        } else if (c == 0x3002 || c == 0xff01 || c == 0xff1f) {
            start = end = i + 1;
        } else if (c == '\n') {
            start = end = i;
            while (end < n && PyUnicode_READ(kind, data, end) == '\n')
                end++;
        } else {
            i++;
            continue;
        }
        PyObject *cut = Py_BuildValue("(nn)", start, end);
        if (!cut || PyList_Append(cuts, cut) < 0) {
            Py_XDECREF(cut);
            Py_DECREF(cuts);
            return NULL;
        }
        Py_DECREF(cut);
        i = end > i ? end : i + 1;
    }
    return cuts;
}

static PyMethodDef module_methods[] = {
    {"split_words", split_words, METH_O,
     "split_words(text) -> [separator, word, separator, ..., separator]"},
    {"words", words, METH_O, "words(text) -> [word, ...]: split_words(text)[1::2]"},
    {"sentence_cuts", sentence_cuts, METH_O, "sentence_cuts(text) -> [(start, end), ...]"},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Table_methods[] = {
    {"best_sum", (PyCFunction)Table_best_sum, METH_VARARGS,
     "best_sum(text, unknown_unigram, unknown_bigram, window, stride, max_token) -> (count, best)"},
    {"size", (PyCFunction)Table_len, METH_NOARGS, "Number of features held."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tutela.injection._speedups.Table",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Table(weights, seed): feature weights keyed by code points, read-only.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tutela.injection._speedups",
    .m_doc = "The injection detector's window scoring and word split in C (model.py, gloss.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    if (PyType_Ready(&TableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
