/*
 * Fake transport for unit tests: a scripted server in memory.
 *
 * A script is a list of steps; each step is what the client is expected to
 * send, and the bytes the server answers with once it has. Server bytes are
 * handed out at most `chunk` bytes per recv() call, so every test can be
 * replayed at every chunk size from 1 byte up (the bugs live at chunk
 * boundaries). What the client sends is recorded for byte-exact assertions.
 *
 * When the unlocked server bytes run out, recv() returns `at_end`
 * (0 = peer closed, or a negative status such as POSTIE_ERR_TIMEOUT).
 */
#ifndef POSTIE_FAKE_TRANSPORT_H
#define POSTIE_FAKE_TRANSPORT_H

#include <stddef.h>
#include "postie/transport.h"

#define FAKE_MAX_STEPS 4096

typedef struct fake_step {
    const char *expect; size_t expect_len; /* client bytes that unlock reply */
    const char *reply;  size_t reply_len;
} fake_step;

typedef struct fake_transport {
    fake_step steps[FAKE_MAX_STEPS];
    size_t nsteps;
    size_t unlocked;       /* steps whose reply is available */
    size_t step_pos;       /* read position inside the current reply */
    size_t cur;            /* current reply step index being read */
    size_t expect_total;   /* sum of expect_len of unlocked steps */
    size_t chunk;          /* max bytes per recv; 0 = no limit */
    long at_end;           /* recv result when nothing is left */
    long send_error;       /* when non-zero, send() returns it */
    size_t send_max;       /* max bytes accepted per send; 0 = no limit */
    char *sent; size_t sent_len, sent_cap;
    size_t send_calls, recv_calls;
    int closed;            /* close() called */
    const char *tls_name;  /* server_name given to start_tls, if any */
    int tls_supported;     /* start_tls non-NULL */
    int tls_calls;         /* start_tls calls */
    size_t tls_sent_len;   /* sent_len when start_tls was called */
    long tls_result;       /* what start_tls returns (0 = POSTIE_OK) */
    int tls_peek;          /* start_tls fails with POSTIE_ERR_PROTOCOL when
                              server bytes are waiting unread, as the OpenSSL
                              transport's peek does */
} fake_transport;

void fake_init(fake_transport *f, size_t chunk);
/* Adds a step (NUL-terminated strings; expect may be "" for the greeting). */
void fake_step_add(fake_transport *f, const char *expect, const char *reply);
void fake_step_addn(fake_transport *f, const char *expect, size_t elen,
                    const char *reply, size_t rlen);
void fake_bind(fake_transport *f, postie_transport *tr);
void fake_free(fake_transport *f);
/* cmocka assertion: the client sent exactly `expected` (shows both on failure). */
void fake_assert_sent(const fake_transport *f, const char *expected);
void fake_assert_sentn(const fake_transport *f, const char *expected, size_t len);
/* cmocka assertion: the client sent exactly the expect bytes of every step,
 * in order, and nothing else. */
void fake_assert_script_sent(const fake_transport *f);
/* Sum of the reply bytes of every step: the largest chunk size worth replaying. */
size_t fake_reply_total(const fake_transport *f);

#endif
