/* tools/trace.c - --trace: a transport wrapper that logs both directions
 * line by line, credentials redacted, control bytes escaped. See trace.h. */
#include "trace.h"
#include "common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int word_is(const char *line, const char *w)
{
    size_t n = strlen(w), i;
    for (i = 0; i < n; i++)
        if (toupper((unsigned char)line[i]) != w[i])
            return 0;
    return line[n] == ' ' || line[n] == '\0';
}

void tool_trace_redact(const char *line, int *in_auth, char *out, size_t cap)
{
    if (*in_auth) {
        snprintf(out, cap, "<redacted>");
        return;
    }
    if (word_is(line, "PASS")) {
        snprintf(out, cap, "%.4s <redacted>", line);
        return;
    }
    if (word_is(line, "APOP")) {
        /* APOP user digest: keep the user */
        const char *u = line + 4, *ue;
        while (*u == ' ')
            u++;
        ue = strchr(u, ' ');
        snprintf(out, cap, "%.4s %.*s <redacted>", line, (int)(ue ? (size_t)(ue - u) : strlen(u)),
                 u);
        return;
    }
    if (word_is(line, "AUTH")) {
        const char *m = line + 4, *me;
        while (*m == ' ')
            m++;
        if (!*m) { /* POP3 "AUTH" alone lists the mechanisms */
            snprintf(out, cap, "%s", line);
            return;
        }
        me = strchr(m, ' ');
        *in_auth = 1;
        if (me)
            snprintf(out, cap, "%.4s %.*s <redacted>", line, (int)(me - m), m);
        else
            snprintf(out, cap, "%s", line);
        return;
    }
    snprintf(out, cap, "%s", line);
}

void tool_trace_server_line(const char *line, int *in_auth)
{
    if (!*in_auth)
        return;
    if (line[0] == '+' && (line[1] == ' ' || line[1] == '\0'))
        return; /* POP3 SASL continuation */
    if (strncmp(line, "334", 3) == 0)
        return; /* SMTP SASL continuation */
    *in_auth = 0;
}

/* One line (or the first part of one too long for the buffer) of either
 * direction. A client line's redaction is decided on its start; when the
 * line goes on past the buffer and its start was redacted, the rest of it
 * is not shown either (t->cdrop), whatever its length. */
static void trace_emit(tool_trace *t, int client, char *line, size_t len, int complete)
{
    char red[1100];
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    line[len] = '\0';
    if (client) {
        int *cont = &t->ccont;
        if (*cont) { /* the rest of a long line */
            if (!t->cdrop) {
                fputs("C: ... ", t->out);
                tool_escape(t->out, line, len);
                fputc('\n', t->out);
            }
        } else {
            tool_trace_redact(line, &t->in_auth, red, sizeof red);
            t->cdrop = strcmp(red, line) != 0;
            fputs("C: ", t->out);
            tool_escape(t->out, red, strlen(red));
            fputc('\n', t->out);
        }
        *cont = !complete;
        if (complete)
            t->cdrop = 0;
    } else {
        if (!t->scont)
            tool_trace_server_line(line, &t->in_auth);
        fputs(t->scont ? "S: ... " : "S: ", t->out);
        tool_escape(t->out, line, len);
        fputc('\n', t->out);
        t->scont = !complete;
    }
}

static void trace_feed(tool_trace *t, int client, const char *b, size_t n)
{
    char *buf = client ? t->cbuf : t->sbuf;
    size_t *len = client ? &t->clen : &t->slen;
    size_t i;
    for (i = 0; i < n; i++) {
        buf[(*len)++] = b[i];
        if (b[i] == '\n' || *len == sizeof t->cbuf - 1) {
            trace_emit(t, client, buf, *len, b[i] == '\n');
            *len = 0;
        }
    }
    fflush(t->out);
}

static long trace_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    tool_trace *t = ctx;
    long r = t->inner.send(t->inner.ctx, buf, len, timeout_ms);
    if (r > 0)
        trace_feed(t, 1, buf, (size_t)r);
    return r;
}

static long trace_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    tool_trace *t = ctx;
    long r = t->inner.recv(t->inner.ctx, buf, len, timeout_ms);
    if (r > 0)
        trace_feed(t, 0, buf, (size_t)r);
    else if (r < 0)
        fprintf(t->out, "-- receive failed: %s\n", postie_strerror((postie_status)r));
    else
        fprintf(t->out, "-- connection closed by the server\n");
    return r;
}

static postie_status trace_start_tls(void *ctx, const char *server_name)
{
    tool_trace *t = ctx;
    postie_status st = t->inner.start_tls(t->inner.ctx, server_name);
    fprintf(t->out, "-- TLS %s\n", st == POSTIE_OK ? "started" : postie_strerror(st));
    return st;
}

static void trace_close(void *ctx)
{
    tool_trace *t = ctx;
    fprintf(t->out, "-- connection closed\n");
    if (t->inner.close)
        t->inner.close(t->inner.ctx);
}

void tool_trace_wrap(tool_trace *t, const postie_transport *inner, FILE *out,
                     postie_transport *wrapped)
{
    memset(t, 0, sizeof *t);
    t->inner = *inner;
    t->out = out;
    wrapped->ctx = t;
    wrapped->send = trace_send;
    wrapped->recv = trace_recv;
    wrapped->start_tls = inner->start_tls ? trace_start_tls : NULL;
    wrapped->close = trace_close;
}
