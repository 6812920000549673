/*
 * tools/net.h - connecting the tools: TCP, then TLS as asked, then the
 * optional --trace wrapper. One struct per connection, owned by the tool.
 */
#ifndef POSTIE_TOOLS_NET_H
#define POSTIE_TOOLS_NET_H

#include "common.h"
#include "config.h"
#include "trace.h"
#include "postie/posix_tcp.h"
#include "postie/security.h"
#ifdef POSTIE_HAVE_OPENSSL
#include "postie/posix_tls.h"
#endif

typedef struct tool_conn {
    postie_tcp tcp;
#ifdef POSTIE_HAVE_OPENSSL
    postie_openssl tls;
#endif
    int tls_inited;
    tool_trace trace;
    postie_transport raw;   /* TCP or TLS */
    postie_transport tr;    /* what the client uses (raw, or the trace wrapper) */
    const char *host;
} tool_conn;

/* Connects to host:port; implicit TLS does its handshake here; starttls
 * prepares a transport whose start_tls the client calls later. With
 * trace, the dialogue goes to stderr (redacted).
 * Returns 0, or -1 with a one-line err and *exit_code. The struct must not
 * move after this (OpenSSL keeps a pointer to it). */
int tool_connect(tool_conn *c, const char *host, const char *port, tool_tls_mode mode,
                 const char *cafile, unsigned timeout_ms, int trace, char *err, size_t errcap,
                 int *exit_code);

/* The client policy for a --tls mode: implicit -> POSTIE_TLS_IMPLICIT (already
 * TLS), starttls -> POSTIE_TLS_REQUIRED (STLS/STARTTLS or refuse the server
 * before any credential), off -> POSTIE_TLS_OFF; *allow_plain is 1 only for
 * off, the user's explicit choice of a plain-text login. */
postie_tls_policy tool_tls_policy(tool_tls_mode mode, int *allow_plain);

/* TLS detail after a TLS status ("certificate has expired"...), or "". */
const char *tool_conn_tls_error(const tool_conn *c);

/* The message of a TLS failure (st POSTIE_ERR_TLS or POSTIE_ERR_TLS_VERIFY)
 * that the TLS transport can explain: where it happened and why, "TLS
 * handshake with HOST: certificate has expired (...)", and for a
 * certificate from an unknown or self-signed CA the hint that --cafile
 * trusts a private one. Writes it into buf and returns 1; 0 (buf "") when
 * st is not a TLS failure or the transport has nothing to say. */
int tool_conn_tls_message(const tool_conn *c, postie_status st, char *buf, size_t cap);

/* 1 when this build has a TLS transport. */
int tool_have_tls(void);

#endif /* POSTIE_TOOLS_NET_H */
