/* libFuzzer: EHLO keyword parser, fed through the reply engine exactly as
 * the client does (postie_smtp_reply_read over a connection engine: lines
 * after the first of a 250 reply), and each raw line as a keyword line too.
 * Also the argument checks, which take the same hostile text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/conn.h"
#include "postie/sasl.h"
#include "postie/smtp_proto.h"

/* The input through the reply engine, in pieces as it would arrive. */
static void through_engine(postie_smtp_ext *e, const uint8_t *data, size_t size)
{
    static postie_conn c;
    postie_smtp_reply r;
    size_t pos = 0;

    postie_conn_init(&c);
    postie_smtp_reply_init(&r);
    for (;;) {
        size_t cap = 0, n;
        char *room = postie_conn_in(&c, &cap);
        postie_status st;

        if (room != NULL && cap > 0 && pos < size) {
            n = size - pos < cap ? size - pos : cap;
            memcpy(room, data + pos, n);
            postie_conn_in_done(&c, n);
            pos += n;
        } else if (room != NULL && pos >= size) {
            postie_conn_in_done(&c, 0); /* the peer closed */
        }
        st = postie_smtp_reply_read(&r, &c, e);
        if (st == POSTIE_DONE) {
            continue; /* the next reply starts afresh */
        }
        if (st == POSTIE_ERR_PROTOCOL && postie_conn_status(&c) == POSTIE_OK) {
            postie_smtp_reply_init(&r); /* a malformed line, consumed */
            continue;
        }
        if (st != POSTIE_AGAIN || (pos >= size && room == NULL)) {
            return; /* the engine ended (closed, line too long), or all of it went in */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    postie_smtp_ext e;
    postie_smtp_reply r;
    postie_line l;
    size_t pos = 0;
    char z[600], lit[80];

    postie_smtp_ext_init(&e);
    postie_smtp_reply_init(&r);
    postie_line_init(&l);
    while (pos < size) {
        size_t used = 0;
        postie_status st = postie_line_feed(&l, (const char *)data + pos, size - pos, &used);
        pos += used;
        if (st == POSTIE_OK) {
            break;
        }
        if (st != POSTIE_DONE) {
            postie_line_init(&l);
            pos += used == 0;
            continue;
        }
        st = postie_smtp_reply_line(&r, l.buf, l.len);
        if (st != POSTIE_OK && st != POSTIE_DONE) {
            postie_smtp_reply_init(&r);
        }
        /* the raw line as a keyword line too */
        (void)postie_smtp_ehlo_line(&e, l.buf, l.len);
    }
    through_engine(&e, data, size);
    if (strlen(e.auth_names) >= sizeof e.auth_names ||
        (e.auth & ~(unsigned)POSTIE_SASL_ALL_MECHS) != 0 ||
        (e.auth != 0 && !(e.flags & POSTIE_SMTP_EXT_AUTH))) {
        abort();
    }
    if (e.auth != 0 && postie_sasl_choose(e.auth, POSTIE_SASL_ALL_MECHS) == POSTIE_SASL_NONE) {
        abort();
    }
    (void)postie_sasl_parse_mechs(e.auth_names);
    /* argument checks over the input as a string */
    {
        size_t n = size < sizeof z - 1 ? size : sizeof z - 1;
        memcpy(z, data, n);
        z[n] = '\0';
        if (postie_smtp_arg_ok(z) && (strchr(z, '\r') || strchr(z, '\n') || strchr(z, '<') ||
                                      strchr(z, '>'))) {
            abort();
        }
        if (postie_smtp_domain_ok(z) && (strchr(z, ' ') || strchr(z, '\r') || strchr(z, '\n'))) {
            abort();
        }
        if (postie_smtp_address_literal(z, lit, sizeof lit) == POSTIE_OK &&
            !postie_smtp_domain_ok(lit)) {
            abort();
        }
    }
    return 0;
}
