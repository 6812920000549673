/*
 * The loop every blocking call of pop3.c and smtp.c is (private): repeat a
 * session step until it is done, moving bytes with postie_conn_pump() over
 * the transport when it says POSTIE_AGAIN, and running the transport's
 * start_tls when it says POSTIE_START_TLS. A transport that would block, or
 * none at all (an event loop moves the bytes), leaves POSTIE_AGAIN or
 * POSTIE_START_TLS in st for the caller.
 *
 *   st       postie_status variable that receives the result
 *   sess     the session (postie_pop3 * or postie_smtp *)
 *   fatal    postie_status fatal(sess, status): ends the session
 *   started  postie_status started(sess, status): reports a TLS handshake
 *   tls      0 when the session can never ask for one (its STLS/STARTTLS
 *            is not compiled): the branch, and started, are not linked
 *   name     server name for start_tls
 *   call     the step, re-evaluated on every round
 */
#ifndef POSTIE_DRIVE_H
#define POSTIE_DRIVE_H

#include "postie/conn.h"

#define POSTIE_DRIVE_LOOP(st, sess, fatal, started, tls, name, call)                      \
    for (;;) {                                                                             \
        (st) = (call);                                                                     \
        if ((st) == POSTIE_AGAIN) {                                                        \
            (st) = postie_conn_pump(&(sess)->conn, &(sess)->tr, (sess)->timeout_ms);       \
            if ((st) == POSTIE_OK) {                                                       \
                continue;                                                                  \
            }                                                                              \
            if ((st) != POSTIE_AGAIN) {                                                    \
                (st) = fatal((sess), (st));                                                \
            }                                                                              \
        } else if ((tls) && (st) == POSTIE_START_TLS && (sess)->tr.recv != NULL) {         \
            (st) = started((sess), (sess)->tr.start_tls != NULL                            \
                                       ? (sess)->tr.start_tls((sess)->tr.ctx, (name))      \
                                       : POSTIE_ERR_UNSUPPORTED);                          \
            if ((st) == POSTIE_OK) {                                                       \
                continue;                                                                  \
            }                                                                              \
            (st) = fatal((sess), (st)); /* the call is over: no repeat */                  \
        }                                                                                  \
        break;                                                                             \
    }

#endif /* POSTIE_DRIVE_H */
