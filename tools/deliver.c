/* tools/deliver.c - what every delivery target shares (CRLF -> LF, the
 * in-memory message, the pending-entry prefix) and the table of targets.
 * See deliver.h and target.h; docs/tools.md ("Delivery and durability"). */
#include "deliver.h"
#include "common.h"
#include "files.h"
#include "target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new target is one file and one row here. */
const struct tool_target *const tool_targets[] = {
    &tool_target_maildir,
    &tool_target_mbox,
    &tool_target_mda,
    NULL
};

const tool_target *tool_target_find(const char *name)
{
    size_t i;
    for (i = 0; tool_targets[i]; i++)
        if (strcmp(tool_targets[i]->name, name) == 0)
            return tool_targets[i];
    return NULL;
}

const char *tool_target_name(const tool_target *t)
{
    return t->name;
}

int tool_target_batches(const tool_target *t)
{
    return t->batches;
}

/* ---- helpers for the targets ------------------------------------------- */

int tool_exit_for_errno(int e)
{
    if (e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG)
        return TOOL_EX_IOERR;
    return TOOL_EX_CANTCREAT;
}

char *tool_path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return r;
}

int tool_msg_buffer_add(tool_msg *m, const char *p, size_t n)
{
    if (m->len + n > m->cap) {
        size_t nc = m->cap ? m->cap : 65536;
        char *nb;
        while (nc < m->len + n)
            nc *= 2;
        nb = realloc(m->buf, nc);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        m->buf = nb;
        m->cap = nc;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return 0;
}

/* ---- destinations ------------------------------------------------------ */

int tool_dest_open(tool_dest *d, const tool_target *t, const char *path, char *err,
                   size_t errcap, int *exit_code)
{
    char h[128];
    size_t i, o = 0;
    memset(d, 0, sizeof *d);
    d->t = t;
    d->path = t->path_is_file ? tool_expand_home(path) : tool_strdup(path);
    if (!d->path) {
        snprintf(err, errcap, "out of memory");
        *exit_code = TOOL_EX_OSERR;
        return -1;
    }
    if (gethostname(h, sizeof h) != 0)
        strcpy(h, "localhost");
    h[sizeof h - 1] = '\0';
    /* Maildir names: '/' and ':' in the host are written as \057 and \072 */
    for (i = 0; h[i] && o + 5 < sizeof d->host; i++) {
        if (h[i] == '/' || h[i] == ':') {
            o += (size_t)snprintf(d->host + o, sizeof d->host - o, "\\%03o", (unsigned)h[i]);
        } else {
            d->host[o++] = h[i];
        }
    }
    d->host[o] = '\0';
    d->pid = (long)getpid();
    if (t->open && t->open(d, err, errcap, exit_code) != 0) {
        tool_dest_close(d);
        return -1;
    }
    return 0;
}

void tool_dest_close(tool_dest *d)
{
    free(d->path);
    d->path = NULL;
}

int tool_dest_sync(tool_dest *d)
{
    return d->t->sync ? d->t->sync(d) : 0;
}

int tool_dest_resolve(tool_dest *d, const char *info)
{
    size_t n = strlen(d->t->name);
    if (strncmp(info, d->t->name, n) != 0 || (info[n] != ' ' && info[n] != '\0'))
        return TOOL_RESOLVE_NO; /* another target's entry: not in this destination */
    return d->t->resolve(d, info[n] ? info + n + 1 : "");
}

/* ---- messages ---------------------------------------------------------- */

int tool_msg_begin(tool_dest *d, tool_msg *m, char *err, size_t errcap)
{
    memset(m, 0, sizeof *m);
    m->d = d;
    m->fd = -1;
    return d->t->begin ? d->t->begin(m, err, errcap) : 0;
}

static int out_bytes(tool_msg *m, const char *p, size_t n)
{
    m->bytes += n;
    return m->d->t->out(m, p, n);
}

int tool_msg_write(tool_msg *m, const void *buf, size_t n, char *err, size_t errcap)
{
    const char *p = buf, *end = p + n;
    char out[32768]; /* a whole read (postie-fetch reads 16 KiB) in one write */
    size_t o = 0;
    for (; p < end; p++) {
        if (m->cr) {
            m->cr = 0;
            if (*p != '\n')
                out[o++] = '\r'; /* a lone CR stays */
        }
        if (*p == '\r') {
            m->cr = 1;
        } else {
            out[o++] = *p;
        }
        if (o >= sizeof out - 2) {
            if (out_bytes(m, out, o) != 0)
                goto fail;
            o = 0;
        }
    }
    if (o && out_bytes(m, out, o) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(errno));
    return -1;
}

int tool_msg_finish(tool_msg *m, char *err, size_t errcap)
{
    if (m->cr) {
        m->cr = 0;
        if (out_bytes(m, "\r", 1) != 0) {
            snprintf(err, errcap, "%s: write failed: %s", m->d->path, strerror(errno));
            return -1;
        }
    }
    return m->d->t->finish(m, err, errcap);
}

int tool_msg_durable(tool_msg *m, char *err, size_t errcap)
{
    return m->d->t->durable ? m->d->t->durable(m, err, errcap) : 0;
}

size_t tool_msgs_durable(tool_msg *const *ms, size_t n, int *whole_fs, char *err,
                         size_t errcap)
{
    size_t i = 0;
    *whole_fs = 0;
    if (n > 0 && ms[0]->d->t->durable_group) {
        long k = ms[0]->d->t->durable_group(ms, n);
        if (k >= 0 && (size_t)k <= n) {
            *whole_fs = 1;
            if ((size_t)k < n)
                snprintf(err, errcap, "%s: write failed: %s", ms[0]->d->path, strerror(errno));
            return (size_t)k;
        }
    }
    for (i = 0; i < n; i++)
        if (tool_msg_durable(ms[i], err, errcap) != 0)
            break;
    return i;
}

static void drop_buffer(tool_msg *m)
{
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
}

void tool_msg_abort(tool_msg *m)
{
    if (m->d && m->d->t->abort)
        m->d->t->abort(m);
    m->fd = -1;
    drop_buffer(m);
}

int tool_msg_commit(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                    size_t errcap, int *exit_code)
{
    int rc;
    *exit_code = TOOL_EX_OK;
    rc = m->d->t->commit(m, uid, st, nosync, err, errcap, exit_code);
    drop_buffer(m);
    return rc;
}
