/* tools/net.c - see net.h. */
#include "net.h"

#include <stdio.h>
#include <string.h>

int tool_have_tls(void)
{
#ifdef POSTIE_HAVE_OPENSSL
    return 1;
#else
    return 0;
#endif
}

const char *tool_conn_tls_error(const tool_conn *c)
{
#ifdef POSTIE_HAVE_OPENSSL
    if (c->tls_inited)
        return postie_openssl_error_text(&c->tls);
#else
    (void)c;
#endif
    return "";
}

int tool_conn_tls_message(const tool_conn *c, postie_status st, char *buf, size_t cap)
{
    buf[0] = '\0';
#ifdef POSTIE_HAVE_OPENSSL
    if ((st == POSTIE_ERR_TLS || st == POSTIE_ERR_TLS_VERIFY) && c->tls_inited &&
        postie_openssl_error_text(&c->tls)[0] != '\0') {
        postie_openssl_verify_reason why = postie_openssl_refusal_reason(&c->tls);
        const char *where = postie_openssl_error_where(&c->tls);
        snprintf(buf, cap, "%s with %s: %s%s", where[0] ? where : "TLS",
                 c->host ? c->host : "the server", postie_openssl_error_text(&c->tls),
                 why == POSTIE_OPENSSL_VERIFY_UNKNOWN_CA || why == POSTIE_OPENSSL_VERIFY_SELF_SIGNED
                     ? " (a server with a certificate from a private CA: --cafile FILE trusts that CA)"
                     : "");
        return 1;
    }
#else
    (void)c;
    (void)st;
    (void)cap;
#endif
    return 0;
}

postie_tls_policy tool_tls_policy(tool_tls_mode mode, int *allow_plain)
{
    *allow_plain = mode == TOOL_TLS_OFF;
    switch (mode) {
    case TOOL_TLS_IMPLICIT:
        return POSTIE_TLS_IMPLICIT;
    case TOOL_TLS_OFF:
        return POSTIE_TLS_OFF;
    default:
        return POSTIE_TLS_REQUIRED;
    }
}

int tool_connect(tool_conn *c, const char *host, const char *port, tool_tls_mode mode,
                 const char *cafile, unsigned timeout_ms, int trace, char *err, size_t errcap,
                 int *exit_code)
{
    postie_status st;
    memset(c, 0, sizeof *c);
    c->tcp.fd = -1;
    c->host = host;
    if (mode != TOOL_TLS_OFF && !tool_have_tls()) {
        snprintf(err, errcap, "TLS is not supported in this build (built without OpenSSL)");
        *exit_code = TOOL_EX_UNAVAILABLE;
        return -1;
    }
    st = postie_tcp_connect(&c->tcp, host, port, timeout_ms);
    if (st != POSTIE_OK) {
        if (st == POSTIE_ERR_RESOLVE)
            snprintf(err, errcap, "%s: host not found", host);
        else
            snprintf(err, errcap, "cannot connect to %s port %s: %s%s%s", host, port,
                     postie_strerror(st), c->tcp.last_errno ? ": " : "",
                     c->tcp.last_errno ? strerror(c->tcp.last_errno) : "");
        *exit_code = tool_exit_for_status(st);
        return -1;
    }
    if (mode == TOOL_TLS_OFF) {
        postie_tcp_transport(&c->tcp, &c->raw);
    } else {
#ifdef POSTIE_HAVE_OPENSSL
        postie_openssl_options o;
        postie_openssl_options_init(&o);
        o.ca_file = cafile;
        o.handshake_timeout_ms = timeout_ms;
        st = postie_openssl_init(&c->tls, c->tcp.fd, &o);
        if (st != POSTIE_OK) {
            snprintf(err, errcap, "TLS set-up failed: %s", postie_openssl_error_text(&c->tls));
            postie_tcp_close(&c->tcp);
            *exit_code = cafile ? TOOL_EX_CONFIG : TOOL_EX_SOFTWARE;
            return -1;
        }
        c->tcp.fd = -1; /* the TLS transport owns the socket now */
        c->tls_inited = 1;
        postie_openssl_transport(&c->tls, &c->raw);
        if (mode == TOOL_TLS_IMPLICIT) {
            st = postie_openssl_start(&c->tls, host);
            if (st != POSTIE_OK) {
                if (!tool_conn_tls_message(c, st, err, errcap))
                    snprintf(err, errcap, "TLS with %s failed: %s", host, postie_strerror(st));
                postie_openssl_close(&c->tls);
                c->tls_inited = 0;
                *exit_code = tool_exit_for_status(st);
                return -1;
            }
        }
#else
        (void)cafile;
#endif
    }
    if (trace) {
        tool_trace_wrap(&c->trace, &c->raw, stderr, &c->tr);
        fprintf(stderr, "-- connected to %s port %s%s\n", host, port,
                mode == TOOL_TLS_IMPLICIT ? " (TLS)" : "");
    } else {
        c->tr = c->raw;
    }
    return 0;
}
