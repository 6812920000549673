/* tools/headers.c - recipients from the header (sendmail -t), Bcc removal. */
#include "headers.h"

#include "postie/smtp_proto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int tool_strv_add(tool_strv *s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *d;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    d = malloc(n);
    if (!d)
        return -1;
    memcpy(d, str, n);
    s->v[s->n++] = d;
    return 0;
}

void tool_strv_free(tool_strv *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Text being gathered for one mailbox: the part outside <> (comments and
 * whitespace dropped) and the part inside <>. */
typedef struct mbox_acc {
    char *plain, *angle;
    size_t np, na;
    int have_angle;
} mbox_acc;

static int flush_mailbox(mbox_acc *a, tool_strv *out)
{
    const char *addr;
    int rc = 0;
    a->plain[a->np] = '\0';
    a->angle[a->na] = '\0';
    if (a->have_angle) {
        /* drop an obsolete route: <@a,@b:user@host> */
        char *colon = a->angle[0] == '@' ? strchr(a->angle, ':') : NULL;
        addr = colon ? colon + 1 : a->angle;
    } else {
        addr = a->plain;
    }
    if (*addr)
        rc = tool_strv_add(out, addr);
    a->np = a->na = 0;
    a->have_angle = 0;
    return rc;
}

int tool_addr_list_parse(const char *value, tool_strv *out)
{
    size_t n = strlen(value);
    mbox_acc a;
    const char *p;
    int rc = -1, depth_comment = 0, in_quote = 0, in_angle = 0;

    memset(&a, 0, sizeof a);
    a.plain = malloc(n + 1);
    a.angle = malloc(n + 1);
    if (!a.plain || !a.angle)
        goto out;
    for (p = value; *p; p++) {
        char c = *p;
        if (depth_comment) {
            if (c == '\\' && p[1])
                p++;
            else if (c == '(')
                depth_comment++;
            else if (c == ')')
                depth_comment--;
            continue;
        }
        if (in_quote) {
            /* quoted local parts keep their quotes in the address */
            if (c == '\\' && p[1]) {
                if (in_angle) {
                    a.angle[a.na++] = c;
                    a.angle[a.na++] = p[1];
                } else {
                    a.plain[a.np++] = c;
                    a.plain[a.np++] = p[1];
                }
                p++;
                continue;
            }
            if (in_angle)
                a.angle[a.na++] = c;
            else
                a.plain[a.np++] = c;
            if (c == '"')
                in_quote = 0;
            continue;
        }
        if (in_angle) {
            if (c == '>')
                in_angle = 0;
            else if (c == '(')
                depth_comment = 1;
            else if (c == '"') {
                in_quote = 1;
                a.angle[a.na++] = c;
            } else if (!isspace((unsigned char)c))
                a.angle[a.na++] = c;
            continue;
        }
        switch (c) {
        case '(':
            depth_comment = 1;
            break;
        case '"':
            in_quote = 1;
            a.plain[a.np++] = c;
            break;
        case '<':
            in_angle = 1;
            a.have_angle = 1;
            a.na = 0;
            break;
        case ':':
            /* group name: what came before is a display name, not an address */
            a.np = 0;
            break;
        case ',':
        case ';':
            if (flush_mailbox(&a, out) != 0)
                goto out;
            break;
        default:
            if (!isspace((unsigned char)c))
                a.plain[a.np++] = c;
        }
    }
    if (depth_comment || in_quote || in_angle)
        goto out;
    if (flush_mailbox(&a, out) != 0)
        goto out;
    rc = 0;
out:
    free(a.plain);
    free(a.angle);
    return rc;
}

/* Calls back for each header field (its start, and its length with folds
 * and line ends); returns where the fields end: the start of the empty line,
 * or len when there is none. */
typedef int (*field_cb)(void *u, const char *start, size_t len);

/* Lines end where the DATA encoder ends them (postie_smtp_content_eol():
 * CRLF, a bare LF, a lone CR), so the fields seen here are the lines the
 * server receives: a field cannot hide another behind a lone CR. */
static size_t walk_header(const char *msg, size_t len, field_cb cb, void *u, int *err)
{
    size_t i = 0;
    *err = 0;
    while (i < len) {
        size_t start = i, end;
        /* empty line ends the header */
        if (postie_smtp_content_eol(msg + i, len - i) > 0)
            return i;
        /* one field: this line and every following line starting with WSP */
        for (;;) {
            size_t eol = 0;
            while (i < len && (eol = postie_smtp_content_eol(msg + i, len - i)) == 0)
                i++;
            i += eol;
            if (i < len && (msg[i] == ' ' || msg[i] == '\t'))
                continue;
            break;
        }
        end = i;
        if (cb && cb(u, msg + start, end - start) != 0) {
            *err = 1;
            return 0;
        }
    }
    return len;
}

static int field_named(const char *f, size_t len, const char *name)
{
    size_t n = strlen(name), i;
    if (len <= n)
        return 0;
    for (i = 0; i < n; i++)
        if (tolower((unsigned char)f[i]) != tolower((unsigned char)name[i]))
            return 0;
    /* "Name:" or "Name :" */
    while (n < len && (f[n] == ' ' || f[n] == '\t'))
        n++;
    return n < len && f[n] == ':';
}

/* The unfolded value of a field, malloc'd. */
static char *field_value(const char *f, size_t len)
{
    const char *colon = memchr(f, ':', len);
    char *v, *w;
    size_t i;
    if (!colon)
        return NULL;
    v = malloc(len + 1);
    if (!v)
        return NULL;
    w = v;
    for (i = (size_t)(colon - f) + 1; i < len; i++)
        if (f[i] != '\r' && f[i] != '\n')
            *w++ = f[i];
    *w = '\0';
    return v;
}

typedef struct take_ctx {
    tool_strv *rcpts;
    char *out;
    size_t outlen;
} take_ctx;

static int take_cb(void *u, const char *f, size_t len)
{
    take_ctx *t = u;
    int is_bcc = field_named(f, len, "Bcc");
    if (is_bcc || field_named(f, len, "To") || field_named(f, len, "Cc")) {
        char *v = field_value(f, len);
        int rc;
        if (!v)
            return -1;
        rc = tool_addr_list_parse(v, t->rcpts);
        free(v);
        if (rc != 0)
            return -1;
    }
    if (!is_bcc) {
        memcpy(t->out + t->outlen, f, len);
        t->outlen += len;
    }
    return 0;
}

int tool_headers_take_recipients(const char *msg, size_t len, tool_strv *rcpts, char **out,
                                 size_t *outlen)
{
    take_ctx t;
    size_t hlen;
    int err;
    t.rcpts = rcpts;
    t.out = malloc(len + 1);
    t.outlen = 0;
    if (!t.out)
        return -1;
    hlen = walk_header(msg, len, take_cb, &t, &err);
    if (err) {
        free(t.out);
        return -1;
    }
    /* the empty line and the body, unchanged */
    memcpy(t.out + t.outlen, msg + hlen, len - hlen);
    t.outlen += len - hlen;
    t.out[t.outlen] = '\0';
    *out = t.out;
    *outlen = t.outlen;
    return 0;
}

typedef struct first_ctx {
    const char *name;
    char *addr;
} first_ctx;

static int first_cb(void *u, const char *f, size_t len)
{
    first_ctx *c = u;
    if (!c->addr && field_named(f, len, c->name)) {
        char *v = field_value(f, len);
        tool_strv s;
        memset(&s, 0, sizeof s);
        if (v && tool_addr_list_parse(v, &s) == 0 && s.n > 0) {
            c->addr = s.v[0];
            s.v[0] = NULL;
        }
        tool_strv_free(&s);
        free(v);
    }
    return 0;
}

char *tool_headers_first_addr(const char *msg, size_t len, const char *name)
{
    first_ctx c;
    int err;
    c.name = name;
    c.addr = NULL;
    walk_header(msg, len, first_cb, &c, &err);
    return c.addr;
}
