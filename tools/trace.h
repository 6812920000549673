/*
 * tools/trace.h - --trace: the protocol dialogue on stderr, redacted and escaped.
 */
#ifndef POSTIE_TOOLS_TRACE_H
#define POSTIE_TOOLS_TRACE_H

#include <stddef.h>
#include <stdio.h>
#include "postie/transport.h"

/* ---- protocol trace ---------------------------------------------------- */

/* Wraps a transport so both directions are written, line by line, to out:
 * "C: " for what we send, "S: " for what we receive. The arguments of PASS,
 * APOP and AUTH, and every client line inside a SASL exchange (from AUTH until
 * the server's final reply), are replaced by "<redacted>", however long the
 * line. Control bytes of either side are shown escaped (tool_escape). */
typedef struct tool_trace {
    postie_transport inner;
    FILE *out;
    int in_auth;         /* a SASL exchange is in progress */
    int ccont, scont;    /* the buffer holds the rest of a line too long for it */
    int cdrop;           /* that client line's start was redacted: hide the rest */
    char cbuf[1024];
    size_t clen;
    char sbuf[1024];
    size_t slen;
} tool_trace;

void tool_trace_wrap(tool_trace *t, const postie_transport *inner, FILE *out,
                     postie_transport *wrapped);
/* Redacts one client line (without CRLF) into out (cap >= 1). *in_auth is
 * the exchange state, updated. Used by the wrapper; exposed for tests. */
void tool_trace_redact(const char *line, int *in_auth, char *out, size_t cap);
/* Tells the redactor about one server line (ends a SASL exchange on a final
 * reply). */
void tool_trace_server_line(const char *line, int *in_auth);

#endif /* POSTIE_TOOLS_TRACE_H */
