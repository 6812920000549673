/*
 * The SMTP session engine (private to the library): every operation of
 * smtp.h as a step function over the connection engine, in the shape of
 * pop3_session.h: POSTIE_AGAIN until the bytes it needs have moved,
 * POSTIE_START_TLS when the transport must start TLS (then
 * postie_smtps_tls_started()), repeated with the same arguments until it
 * returns anything else. src/smtp/smtp.c drives them.
 */
#ifndef POSTIE_SMTP_SESSION_H
#define POSTIE_SMTP_SESSION_H

#include "postie/smtp.h"

/* The members that share memory with POSTIE_SHARED_BUFFERS (smtp.h). */
#if POSTIE_SHARED_BUFFERS
#define SMTP_SAVED(s) ((s)->sh.saved)
#define SMTP_DOT(s) ((s)->sh.dot)
#define SMTP_SX(s) ((s)->sh.sx)
#else
#define SMTP_SAVED(s) ((s)->saved)
#define SMTP_DOT(s) ((s)->dot)
#define SMTP_SX(s) ((s)->sx)
#endif

postie_status postie_smtps_open(postie_smtp *s);
postie_status postie_smtps_ehlo(postie_smtp *s);
postie_status postie_smtps_starttls(postie_smtp *s, const char *server_name);
postie_status postie_smtps_tls_started(postie_smtp *s, postie_status st);
postie_status postie_smtps_auth(postie_smtp *s, unsigned mechs, const char *user,
                                const char *secret);
postie_status postie_smtps_mail(postie_smtp *s, postie_smtp_envelope *env);
postie_status postie_smtps_data_begin(postie_smtp *s);
postie_status postie_smtps_data_write(postie_smtp *s, const void *buf, size_t n);
postie_status postie_smtps_data_end(postie_smtp *s);
postie_status postie_smtps_send(postie_smtp *s, postie_smtp_envelope *env,
                                postie_smtp_reader read, void *user);
postie_status postie_smtps_send_batch(postie_smtp *s, postie_smtp_msg *msgs, size_t n);
postie_status postie_smtps_rset(postie_smtp *s);
postie_status postie_smtps_noop(postie_smtp *s);
postie_status postie_smtps_quit(postie_smtp *s);
/* Ends the session with st (a transport failure): returns st. */
postie_status postie_smtps_fatal(postie_smtp *s, postie_status st);

#endif /* POSTIE_SMTP_SESSION_H */
