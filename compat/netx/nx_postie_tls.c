/* TLS for the NetX Duo services (nx_postie_tls.h): the checks and the
 * set-up shared by the POP3 and SMTP layers, over the OpenSSL transport of
 * ports/posix when the library has it. */
#include "nx_postie_internal.h"
#include "postie/posix_tls.h"

#include <string.h>

/* The room in the client structs holds a postie_openssl in every build. */
typedef char nx_postie_tls_room_fits[(sizeof(postie_openssl) <= sizeof(NX_POSTIE_TLS_CONTEXT)) ? 1 : -1];

postie_tls_policy nx_postie_tls_policy(UINT mode)
{
    switch (mode) {
    case NX_POSTIE_TLS_STARTTLS_OPPORTUNISTIC:
        return POSTIE_TLS_OPPORTUNISTIC;
    case NX_POSTIE_TLS_IMPLICIT:
        return POSTIE_TLS_IMPLICIT;
    default:
        return POSTIE_TLS_REQUIRED;
    }
}

#ifdef POSTIE_HAVE_OPENSSL

int nx_postie_tls_available(void)
{
    return 1;
}

int nx_postie_tls_check(const NX_POSTIE_TLS_CONFIG *cfg, nx_postie_tls_settings *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->nx_postie_tls_mode != NX_POSTIE_TLS_STARTTLS &&
        cfg->nx_postie_tls_mode != NX_POSTIE_TLS_STARTTLS_OPPORTUNISTIC &&
        cfg->nx_postie_tls_mode != NX_POSTIE_TLS_IMPLICIT) {
        return -1;
    }
    out->mode = cfg->nx_postie_tls_mode;
    if (cfg->nx_postie_tls_server_name != NULL &&
        !postie_server_name_ok(cfg->nx_postie_tls_server_name)) {
        return -1;
    }
    out->server_name = cfg->nx_postie_tls_server_name;
    if (cfg->nx_postie_tls_ca_file != NULL && cfg->nx_postie_tls_ca_file[0] == '\0') {
        return -1;
    }
    out->ca_file = cfg->nx_postie_tls_ca_file;
    switch (cfg->nx_postie_tls_pin_type) {
    case NX_POSTIE_TLS_PIN_NONE:
        break;
    case NX_POSTIE_TLS_PIN_CERT:
    case NX_POSTIE_TLS_PIN_SPKI:
        if (cfg->nx_postie_tls_pin_sha256 == NULL ||
            postie_openssl_pin_from_hex(cfg->nx_postie_tls_pin_sha256, out->pin) != POSTIE_OK) {
            return -1;
        }
        break;
    default:
        return -1;
    }
    out->pin_type = cfg->nx_postie_tls_pin_type;
    out->insecure = cfg->nx_postie_tls_insecure ? NX_TRUE : NX_FALSE;
    return 0;
}

static postie_status tls_close_room(postie_openssl *t, postie_status st)
{
    postie_openssl_close(t);
    return st;
}

postie_status nx_postie_tls_open(NX_POSTIE_TLS_CONTEXT *room, postie_tcp *tcp,
                                 const nx_postie_tls_settings *s, const char *name,
                                 unsigned timeout_ms, postie_transport *tr)
{
    postie_openssl *t = (postie_openssl *)(void *)room;
    postie_openssl_options o;
    postie_status st;

    memset(room, 0, sizeof *room);
    postie_openssl_options_init(&o);
    o.ca_file = s->ca_file;
    o.pin_kind = s->pin_type == NX_POSTIE_TLS_PIN_CERT   ? POSTIE_OPENSSL_PIN_CERT
                 : s->pin_type == NX_POSTIE_TLS_PIN_SPKI ? POSTIE_OPENSSL_PIN_SPKI
                                                         : POSTIE_OPENSSL_PIN_NONE;
    memcpy(o.pin_sha256, s->pin, sizeof o.pin_sha256);
    o.insecure_skip_verify = s->insecure ? 1 : 0;
    o.handshake_timeout_ms = timeout_ms;
    st = postie_openssl_init(t, tcp->fd, &o);
    if (st != POSTIE_OK) {
        postie_tcp_close(tcp);
        return st;
    }
    tcp->fd = -1; /* the TLS transport owns the socket now */
    if (s->mode == NX_POSTIE_TLS_IMPLICIT) {
        st = postie_openssl_start(t, name);
        if (st != POSTIE_OK) {
            return tls_close_room(t, st);
        }
    }
    postie_openssl_transport(t, tr);
    return POSTIE_OK;
}

#else /* built without OpenSSL: no TLS */

int nx_postie_tls_available(void)
{
    return 0;
}

int nx_postie_tls_check(const NX_POSTIE_TLS_CONFIG *cfg, nx_postie_tls_settings *out)
{
    (void)cfg;
    memset(out, 0, sizeof *out);
    return -1;
}

postie_status nx_postie_tls_open(NX_POSTIE_TLS_CONTEXT *room, postie_tcp *tcp,
                                 const nx_postie_tls_settings *s, const char *name,
                                 unsigned timeout_ms, postie_transport *tr)
{
    (void)room;
    (void)s;
    (void)name;
    (void)timeout_ms;
    (void)tr;
    postie_tcp_close(tcp);
    return POSTIE_ERR_INTERNAL;
}

#endif
