/*
 * postie/sasl_exchange.h - the one SASL exchange (RFC 4422) both protocols
 * run, as a step machine over the connection engine (no I/O).
 *
 * The session chooses the mechanism (postie_sasl_x_select: the TLS rules),
 * starts the exchange (the AUTH command with its initial response, or
 * without it when it would not fit and must wait for an empty challenge),
 * hands each challenge to postie_sasl_x_step (which queues the response, or
 * a "*" cancel) and asks postie_sasl_x_done when the server says it
 * succeeded (SCRAM: only once the server proved it knows the password).
 * POP3 (RFC 5034) and SMTP (RFC 4954) differ only in postie_sasl_proto.
 */
#ifndef POSTIE_SASL_EXCHANGE_H
#define POSTIE_SASL_EXCHANGE_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/sasl.h"
#if POSTIE_WITH_SASL_SCRAM
#include "postie/scram.h"
#endif
#include "postie/security.h"
#include "postie/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raw (decoded) room of an exchange: a challenge and a response, half each;
 * a deferred initial response whole (PLAIN: user and password and 2 octets;
 * CRAM-MD5: the challenge, then the user and 33 octets). A response that does
 * not fit is POSTIE_ERR_BUFFER. The SMTP session also reads the messages of
 * postie_smtp_send() through it. The default is what a command line of
 * POSTIE_CMD_MAX octets can carry in base64; a firmware that knows its
 * credentials are short may set it lower (minimum 128). */
#ifndef POSTIE_SASL_RAW_MAX
#define POSTIE_SASL_RAW_MAX ((POSTIE_CMD_MAX / 4) * 3)
#endif
#if POSTIE_SASL_RAW_MAX < 128
#error "POSTIE_SASL_RAW_MAX must be at least 128"
#endif

/* The exchange's scratch: a buffer of its own (POSTIE_SASL_RAW_MAX), or with
 * POSTIE_SHARED_BUFFERS 1 the connection's line buffer (POSTIE_LINE_MAX),
 * which is idle while a response is built: the challenge was copied out of
 * it first and the next line is framed only once the response is queued. */
#if POSTIE_SHARED_BUFFERS
#define POSTIE_SASL_SCRATCH_MAX POSTIE_LINE_MAX
#else
#define POSTIE_SASL_SCRATCH_MAX POSTIE_SASL_RAW_MAX
#endif

/* What differs between the protocols. */
typedef struct postie_sasl_proto {
    size_t cmd_limit;        /* longest AUTH command (CRLF included) that may carry the
                                initial response; a longer one waits for an empty
                                challenge (POP3: 255, RFC 5034 sec. 4; SMTP: 512,
                                RFC 4954 sec. 4 / RFC 5321 sec. 4.5.3.1.4) */
    unsigned char max_challenges; /* challenges answered before cancelling */
    unsigned no_ir_mechs;    /* postie_sasl_mech bits whose first response always waits
                                for the server's empty challenge, however short (POP3:
                                XOAUTH2, which Microsoft's POP3 wants after "+ ") */
} postie_sasl_proto;

/* Without SCRAM (POSTIE_WITH_SASL_SCRAM 0) the struct holds no postie_scram;
 * without any mechanism (POSTIE_WITH_SASL 0) the functions below are not
 * built, but buf stays (SMTP's send() reads messages through it) unless
 * POSTIE_SHARED_BUFFERS moves both uses into the connection's line buffer:
 * then the struct holds no buffer, and an initial response that must be
 * sent again (after an empty challenge) is built again from user and
 * secret instead of being kept. */
typedef struct postie_sasl_x {
#if POSTIE_WITH_SASL_SCRAM
    postie_scram scram;
#endif
    unsigned char mech;       /* postie_sasl_mech */
    unsigned char nchal;      /* challenges answered */
    unsigned char stage;      /* SCRAM: 0 client-final next, 1 server-final next */
    unsigned char ir;         /* the initial response: 0 none or answered, 1 sent with the
                                 command, 2 waiting for an empty challenge */
    unsigned char verified;   /* SCRAM's server signature matched */
    size_t irlen;
#if !POSTIE_SHARED_BUFFERS
    char buf[POSTIE_SASL_RAW_MAX]; /* initial response | challenge, response halves */
#endif
} postie_sasl_x;

/* The mechanism to use: the strongest of offered & allowed, without SCRAM
 * when have_random is 0; on a plain connection (!tls_active) without the
 * plaintext allowance only CRAM-MD5 and SCRAM-SHA-256.
 * POSTIE_OK (*mech set); POSTIE_ERR_INSECURE (only mechanisms that would
 * reveal the secret on this plain connection are possible);
 * POSTIE_ERR_UNSUPPORTED (none in common). */
postie_status postie_sasl_x_select(unsigned offered, unsigned allowed, int tls_active,
                                   int allow_plain, int have_random, postie_sasl_mech *mech);

/* Queues "AUTH <mech>[ <initial response>]" on c with tag. user and secret
 * must be non-NULL, user non-empty, neither holding CR or LF: the session
 * checks that before the exchange (a parameter error comes before any
 * other). SCRAM's own rule is checked here (printable ASCII only, a
 * non-empty secret: else POSTIE_ERR_PARAM). The random source is used for
 * SCRAM's nonce (its failure is returned as is). POSTIE_OK; POSTIE_ERR_PARAM; POSTIE_ERR_BUFFER (the
 * response can never fit a command line); a status of c. Nothing is queued
 * on an error. */
postie_status postie_sasl_x_start(postie_sasl_x *x, const postie_sasl_proto *pr,
                                  postie_sasl_mech mech, const char *user, const char *secret,
                                  postie_random_fn random, void *random_ctx, postie_conn *c,
                                  unsigned tag);

/* A challenge arrived (its base64 text, challenge[0..len)). Queues the
 * response line with tag and returns POSTIE_OK; or queues "*" with tag and
 * returns the status to report once the server answered the cancel:
 * POSTIE_ERR_AUTH (too many challenges, a challenge out of place, a server
 * SCRAM refuses), POSTIE_ERR_DECODE (not base64), POSTIE_ERR_BUFFER.
 * Tolerance: an empty challenge to a command that carried its initial
 * response is answered with that response again (some servers ignore it). */
postie_status postie_sasl_x_step(postie_sasl_x *x, const postie_sasl_proto *pr,
                                 const char *user, const char *secret, const char *challenge,
                                 size_t len, postie_conn *c, unsigned tag);

/* The server said the exchange succeeded: POSTIE_OK, or POSTIE_ERR_AUTH for
 * SCRAM when the server never proved it knows the password. */
postie_status postie_sasl_x_done(const postie_sasl_x *x);

/* Wipes every secret the exchange held. */
void postie_sasl_x_wipe(postie_sasl_x *x);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SASL_EXCHANGE_H */
