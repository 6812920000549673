/*
 * script_util.h - helpers shared by the scripted-server client programs
 * (pop3_script_client.c, smtp_script_client.c). Header-only (static inline)
 * because tests/CMakeLists.txt turns every .c file of tests/scripted into its own
 * program.
 *
 * Escapes, in step arguments and in printed values alike: \r \n \t \\ and
 * \xNN. Printed values are quoted ("..."), so a double quote inside is
 * printed as \x22 and every byte outside 0x20..0x7e is escaped.
 */
#ifndef POSTIE_SCRIPT_UTIL_H
#define POSTIE_SCRIPT_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *script_prog = "script_client";

static inline void script_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s: %s\n", script_prog, what, arg);
    exit(2);
}

static inline int script_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Unescapes text into a new NUL-terminated buffer (the caller frees it);
 * *len gets the byte count (the bytes may hold NUL). */
static inline char *script_unescape(const char *text, size_t *len)
{
    char *out = malloc(strlen(text) + 1);
    size_t n = 0;
    const char *p = text;

    if (out == NULL) {
        script_usage_error("out of memory", text);
    }
    while (*p != '\0') {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        switch (p[1]) {
        case 'r': out[n++] = '\r'; p += 2; break;
        case 'n': out[n++] = '\n'; p += 2; break;
        case 't': out[n++] = '\t'; p += 2; break;
        case '\\': out[n++] = '\\'; p += 2; break;
        case 'x': {
            int hi = p[2] ? script_hexval(p[2]) : -1;
            int lo = (hi >= 0 && p[3]) ? script_hexval(p[3]) : -1;
            if (lo < 0) {
                script_usage_error("bad \\x escape in", text);
            }
            out[n++] = (char)(hi * 16 + lo);
            p += 4;
            break;
        }
        default:
            script_usage_error("unknown escape in", text);
        }
    }
    out[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return out;
}

/* Prints p[0..n) quoted, with the escapes above. */
static inline void script_print_quoted(const char *p, size_t n)
{
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (c) {
        case '\r': fputs("\\r", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:
            if (c >= 0x20 && c < 0x7f && c != '"') {
                putchar(c);
            } else {
                printf("\\x%02x", c);
            }
        }
    }
    putchar('"');
}

static inline void script_print_str(const char *key, const char *s)
{
    printf(" %s=", key);
    script_print_quoted(s, strlen(s));
}

/* 32-bit FNV-1a of p[0..n), printed as 8 hex digits. */
static inline unsigned long script_fnv1a(const char *p, size_t n)
{
    unsigned long h = 2166136261UL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h = (h * 16777619UL) & 0xffffffffUL;
    }
    return h;
}

/* Decimal number of a whole argument; anything else is a usage error. */
static inline unsigned long script_number(const char *s, const char *step)
{
    char *end;
    unsigned long v;
    errno = 0;
    if (*s < '0' || *s > '9') {
        script_usage_error("expected a number in step", step);
    }
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        script_usage_error("expected a number in step", step);
    }
    return v;
}

static inline void script_sleep_ms(unsigned long ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Reads a whole file into a new buffer (the caller frees it). */
static inline char *script_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL) {
        script_usage_error("cannot open", path);
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                script_usage_error("out of memory reading", path);
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        script_usage_error("cannot read", path);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Returns the part of step after "name:" when step starts with it, else NULL. */
static inline const char *script_arg(const char *step, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(step, name, n) == 0 && step[n] == ':') {
        return step + n + 1;
    }
    return NULL;
}

#endif /* POSTIE_SCRIPT_UTIL_H */
