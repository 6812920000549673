/*
 * The POP3 session engine (private to the library): every operation of
 * pop3.h as a step function over the connection engine. A step never does
 * I/O: it returns POSTIE_AGAIN when bytes must move (conn.h says which), or
 * POSTIE_START_TLS when the transport must start TLS now
 * (postie_pop3s_tls_started() reports it done); the caller repeats the same
 * step with the same arguments until it returns anything else. The drivers
 * in src/pop3/pop3.c are loops around these.
 */
#ifndef POSTIE_POP3_SESSION_H
#define POSTIE_POP3_SESSION_H

#include "postie/pop3.h"

postie_status postie_pop3s_open(postie_pop3 *p, unsigned flags);
postie_status postie_pop3s_stls(postie_pop3 *p, const char *server_name);
postie_status postie_pop3s_tls_started(postie_pop3 *p, postie_status st);
postie_status postie_pop3s_capa(postie_pop3 *p);
postie_status postie_pop3s_login(postie_pop3 *p, const char *user, const char *pass,
                                 postie_pop3_login_mode mode);
postie_status postie_pop3s_auth(postie_pop3 *p, unsigned mechs, const char *user,
                                const char *secret);
postie_status postie_pop3s_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets);
postie_status postie_pop3s_list(postie_pop3 *p, unsigned long msg, unsigned long *octets);
postie_status postie_pop3s_uidl(postie_pop3 *p, unsigned long msg, char *uid, size_t cap);
postie_status postie_pop3s_list_begin(postie_pop3 *p);
postie_status postie_pop3s_uidl_begin(postie_pop3 *p);
postie_status postie_pop3s_list_next(postie_pop3 *p, unsigned long *msg, unsigned long *octets);
postie_status postie_pop3s_uidl_next(postie_pop3 *p, unsigned long *msg, char *uid, size_t cap);
postie_status postie_pop3s_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets);
postie_status postie_pop3s_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines);
postie_status postie_pop3s_read(postie_pop3 *p, void *buf, size_t cap, size_t *n);
postie_status postie_pop3s_drain(postie_pop3 *p);
postie_status postie_pop3s_dele(postie_pop3 *p, unsigned long msg);
postie_status postie_pop3s_rset(postie_pop3 *p);
postie_status postie_pop3s_noop(postie_pop3 *p);
postie_status postie_pop3s_queue(postie_pop3 *p, postie_pop3_cmd_kind kind, unsigned long msg,
                                 unsigned long lines);
postie_status postie_pop3s_flush(postie_pop3 *p);
postie_status postie_pop3s_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                                unsigned long *octets);
postie_status postie_pop3s_quit(postie_pop3 *p, int *committed);
/* (pop3_proto.c) Decimal digits at s (no sign, no overflow of unsigned long)
 * that end at the end of the text or at a space: their value into *v
 * (untouched when not) and the end of them, or NULL. */
const char *postie_pop3_number(const char *s, unsigned long *v);
/* (pop3_proto.c) postie_pop3_body_feed() without its argument checks: every
 * pointer valid (in and out may be anything when n or cap is 0). */
postie_status postie_pop3_body_run(postie_pop3_body *b, const char *in, size_t n,
                                   size_t *consumed, char *out, size_t cap, size_t *produced);
/* Ends the session with st (the driver's transport failed): returns st. */
postie_status postie_pop3s_fatal(postie_pop3 *p, postie_status st);
/* 1 when the session's connection is over (a fatal status, QUIT, close). */
int postie_pop3s_dead(const postie_pop3 *p);

#endif /* POSTIE_POP3_SESSION_H */
