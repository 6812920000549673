/* tools/rcpt.c - recipient arguments of postie-send. See rcpt.h. */
#include "rcpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5322 atext, plus any byte >= 0x80 (RFC 6532 UTF-8 addresses). */
static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL || c >= 0x80;
}

/* dot-atom: atoms of atext joined by single dots. */
static int dot_atom(const char *s, size_t n)
{
    size_t i;
    int prev_dot = 1;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (atext(c) && c != 0) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    return !prev_dot;
}

/* A quoted string "..." spanning exactly s[0..n): printable ASCII, space,
 * UTF-8, and backslash escapes of those. */
static int quoted(const char *s, size_t n)
{
    size_t i;
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return 0;
    for (i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            if (++i >= n - 1)
                return 0;
            c = (unsigned char)s[i];
        } else if (c == '"') {
            return 0;
        }
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int tool_addr_spec_valid(const char *s, size_t n)
{
    const char *at = NULL;
    size_t i, local_len;
    /* the '@' that ends the local part: the first one outside quotes */
    if (n > 0 && s[0] == '"') {
        for (i = 1; i < n; i++) {
            if (s[i] == '\\') {
                i++;
                continue;
            }
            if (s[i] == '"')
                break;
        }
        if (i + 1 >= n || s[i + 1] != '@')
            return 0;
        at = s + i + 1;
    } else {
        at = memchr(s, '@', n);
    }
    if (!at)
        return 0;
    local_len = (size_t)(at - s);
    if (!(dot_atom(s, local_len) || quoted(s, local_len)))
        return 0;
    s = at + 1;
    n -= local_len + 1;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        for (i = 1; i < n - 1; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c <= 0x20 || c == 0x7f || c == '[' || c == ']' || c == '\\')
                return 0;
        }
        return 1;
    }
    return dot_atom(s, n);
}

static int space(char c)
{
    return c == ' ' || c == '\t';
}

/* A display name: words (atoms or quoted strings) separated by white space;
 * dots are allowed in unquoted words ("J. Doe", obs-phrase). */
static int display_name(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j;
        if (space(s[i])) {
            i++;
            continue;
        }
        if (s[i] == '"') {
            for (j = i + 1; j < n && s[j] != '"'; j++)
                if (s[j] == '\\')
                    j++;
            if (j >= n || !quoted(s + i, j + 1 - i))
                return 0;
            i = j + 1;
            continue;
        }
        for (j = i; j < n && !space(s[j]) && s[j] != '"'; j++) {
            unsigned char c = (unsigned char)s[j];
            if (!(atext(c) || c == '.'))
                return 0;
        }
        i = j;
    }
    return 1;
}

/* One element of the list, trimmed: s[0..n). Adds its address. */
static int element(const char *s, size_t n, tool_strv *out, char *err, size_t errcap)
{
    const char *lt = NULL, *p;
    int inq = 0;
    char *addr;
    size_t alen;
    int rc;
    for (p = s; p < s + n; p++) {
        if (inq) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                inq = 0;
        } else if (*p == '"') {
            inq = 1;
        } else if (*p == '<') {
            if (lt) {
                snprintf(err, errcap, "more than one <address> in '%.*s'", (int)n, s);
                return -1;
            }
            lt = p;
        }
    }
    if (lt) {
        const char *gt = memchr(lt, '>', (size_t)(s + n - lt));
        if (!gt || gt != s + n - 1) {
            snprintf(err, errcap, "'%.*s' must end with the <address>", (int)n, s);
            return -1;
        }
        if (!display_name(s, (size_t)(lt - s))) {
            snprintf(err, errcap, "'%.*s': the name before <address> is not a display name "
                     "(quote it)", (int)n, s);
            return -1;
        }
        s = lt + 1;
        n = (size_t)(gt - lt - 1);
    }
    if (!tool_addr_spec_valid(s, n)) {
        snprintf(err, errcap, "'%.*s' is not one address", (int)n, s);
        return -1;
    }
    alen = n;
    addr = malloc(alen + 1);
    if (!addr) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    rc = tool_strv_add(out, addr);
    free(addr);
    if (rc != 0)
        snprintf(err, errcap, "out of memory");
    return rc;
}

int tool_rcpt_arg(const char *arg, tool_strv *out, char *err, size_t errcap)
{
    size_t before = out->n, start = 0, i, len = strlen(arg);
    int inq = 0, inangle = 0;
    for (i = 0; i <= len; i++) {
        char c = i < len ? arg[i] : ',';
        if (inq) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                inq = 0;
            continue;
        }
        if (c == '"')
            inq = 1;
        else if (c == '<')
            inangle = 1;
        else if (c == '>')
            inangle = 0;
        else if (c == ',' && !inangle) {
            size_t a = start, b = i;
            while (a < b && space(arg[a]))
                a++;
            while (b > a && space(arg[b - 1]))
                b--;
            if (b > a && element(arg + a, b - a, out, err, errcap) != 0)
                goto fail;
            start = i + 1;
        }
    }
    if (inq || inangle) {
        snprintf(err, errcap, "unterminated %s in '%s'", inq ? "quote" : "<address>", arg);
        goto fail;
    }
    if (out->n == before) {
        snprintf(err, errcap, "no address in '%s'", arg);
        goto fail;
    }
    return 0;
fail:
    while (out->n > before)
        free(out->v[--out->n]);
    return -1;
}
