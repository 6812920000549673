/*
 * postie_conn_input_status() as a private inline function: conn.c's public
 * call and the POP3 session's body reader both run it, so the rule for
 * "more input, AGAIN or the end" has one definition; inlined, the session
 * pays no call for it.
 */
#ifndef POSTIE_CONN_INPUT_H
#define POSTIE_CONN_INPUT_H

#include "postie/conn.h"

/* POSTIE_OK when input is buffered, POSTIE_AGAIN (and starved) when more
 * must be received, else the status that ended c (POSTIE_ERR_CLOSED at
 * the end of the stream). */
static inline postie_status postie_conn_input_state(postie_conn *c)
{
    if (c->dead != POSTIE_OK) {
        return (postie_status)c->dead;
    }
    if (c->in_pos < c->in_len) {
        return POSTIE_OK;
    }
    if (c->eof) {
        return POSTIE_ERR_CLOSED;
    }
    c->starved = 1;
    return POSTIE_AGAIN;
}

#endif /* POSTIE_CONN_INPUT_H */
