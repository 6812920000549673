/*
 * interop_util.h - what every interop program shares: "ok - " / "not ok - "
 * lines counted into passed/failed, "# " diagnostics, settings from the
 * environment that tests/interop/run.sh sets from the stack's env file, and a
 * growable byte buffer. Header-only: each interop program is its own .c file.
 */
#ifndef POSTIE_INTEROP_UTIL_H
#define POSTIE_INTEROP_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static int passed, failed;

/* One check: prints "ok - what" or "not ok - what"; returns cond. */
static inline int check(int cond, const char *fmt, ...) PRINTF_LIKE(2, 3);
static inline int check(int cond, const char *fmt, ...)
{
    va_list ap;
    fputs(cond ? "ok - " : "not ok - ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (cond) {
        passed++;
    } else {
        failed++;
    }
    return cond;
}

/* A diagnostic line ("# ..."), not counted. */
static inline void diag(const char *fmt, ...) PRINTF_LIKE(1, 2);
static inline void diag(const char *fmt, ...)
{
    va_list ap;
    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* A setting from the environment; a missing one is a set-up error (exit 2). */
static inline const char *need(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        printf("# %s is not set (run through tests/interop/run.sh)\n", name);
        printf("%d passed, %d failed\n", passed, failed + 1);
        exit(2);
    }
    return v;
}

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static inline void buf_put(buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            abort();
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void buf_str(buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static inline void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* A whole file, NUL-terminated, malloc'ed (NULL when it cannot be read). */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return text;
}

/* LF -> CRLF, as POP3 serves a Maildir file. */
static inline char *crlf(const char *in, size_t n, size_t *out_len)
{
    char *out = malloc(2 * n + 1);
    size_t i, o = 0;
    if (out == NULL) exit(2);
    for (i = 0; i < n; i++) {
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) out[o++] = '\r';
        out[o++] = in[i];
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

#endif
