/*
 * postie/rawcb.h - a driver for TCP stacks that call back (no I/O, no heap).
 *
 * Shaped like lwIP's raw API (tcp_recv / tcp_sent / tcp_err / tcp_poll
 * callbacks, tcp_write into a send buffer of tcp_sndbuf() bytes), but it
 * knows nothing of lwIP: a port (ports/lwip, a NetX or FreeRTOS+TCP glue, a
 * test's fake) forwards its stack's events to the driver, and the driver
 *   - feeds each received chunk into the session's connection engine
 *     (postie_conn_in), as much as fits, and says how much it took;
 *   - runs the application's step function (which repeats the current call
 *     of pop3.h or smtp.h in its event-loop mode) as long as it makes
 *     progress;
 *   - pushes the bytes the engine offers (postie_conn_out) through io.write,
 *     never more than the send window the stack reported free;
 *   - fails the session when the stack reports an error, when the peer
 *     closes, or when the stack's periodic poll says it was idle too long.
 * docs/event-loop.md describes the model, docs/porting.md the lwIP glue.
 *
 * Every entry point returns the run's status: POSTIE_AGAIN while the
 * application runs; once its step returned anything else (POSTIE_DONE or
 * POSTIE_OK when it finished, or the error it ended with), that status, for
 * ever after. The port then closes its connection (unless the stack's error
 * callback already freed it). No entry point may be called from inside an
 * io callback; one that is (a stack that reports "sent" from inside
 * tcp_write) only records the event, and the running loop picks it up.
 *
 * Buffers: every byte lives in postie_rawcb and the session the caller owns;
 * a chunk passed to postie_rawcb_recv() is only read during the call.
 */
#ifndef POSTIE_RAWCB_H
#define POSTIE_RAWCB_H

#include <stddef.h>
#include "postie/conn.h"
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The port's side: its stack's send calls. */
typedef struct postie_rawcb_io {
    /* Copies up to len bytes into the stack's send buffer (lwIP: tcp_write
     * with TCP_WRITE_FLAG_COPY). Never called with more than the window the
     * driver knows to be free. Returns the bytes taken (0: none now, e.g.
     * lwIP's ERR_MEM; the driver retries at the next event), or a negative
     * status, which ends the session with that status (postie_conn_map). */
    long (*write)(void *ctx, const void *data, size_t len);
    /* Optional (may be NULL): sends what write() queued (lwIP: tcp_output).
     * Called once after each round of writes. */
    void (*output)(void *ctx);
    /* Optional: starts TLS on the connection (STLS/STARTTLS; lwIP:
     * altcp_tls_wrap over the connection). Returns POSTIE_OK when the
     * handshake is done, POSTIE_AGAIN when it goes on (report its end with
     * postie_rawcb_tls_done()), or a failure status (the session ends with
     * it). NULL: POSTIE_ERR_UNSUPPORTED is reported to the session. */
    postie_status (*start_tls)(void *ctx);
    void *ctx;
} postie_rawcb_io;

/* The application's side: the session it runs. */
typedef struct postie_rawcb_app {
    /* Repeats the application's current public call and goes on to the next
     * one when it completes. Returns POSTIE_AGAIN while the session waits for
     * bytes, POSTIE_START_TLS when the session asks for TLS (the call
     * returned it), anything else when the application is finished: that
     * status becomes the run's result. */
    postie_status (*step)(void *user);
    /* The session's postie_pop3_tls_started() / postie_smtp_tls_started(). */
    postie_status (*tls_started)(void *user, postie_status result);
    void *user;
} postie_rawcb_app;

typedef struct postie_rawcb {
    postie_conn *conn;             /* the session's connection engine */
    postie_rawcb_io io;
    postie_rawcb_app app;
    size_t window;                 /* bytes write() may take now */
    const unsigned char *chunk;    /* the chunk being fed (during recv only) */
    size_t chunk_len, chunk_off;
    unsigned timeout_ms, idle_ms;  /* idle limit and idle time so far */
    postie_status result;          /* POSTIE_AGAIN while running */
    unsigned char tls_pending;     /* a handshake runs (start_tls said AGAIN) */
    unsigned char gone;            /* the stack's connection is gone */
    unsigned char running;         /* inside the run loop (reentrancy guard) */
} postie_rawcb;

/* Prepares d for the session whose connection engine is conn (from
 * postie_pop3_conn() or postie_smtp_conn() of a session made with
 * postie_pop3_init_nb() / postie_smtp_init_nb()). io and app are copied.
 * window: the send buffer free at start (lwIP: tcp_sndbuf(pcb)).
 * timeout_ms: how long the session may wait for the peer without any byte
 * moving before it fails with POSTIE_ERR_TIMEOUT (counted by
 * postie_rawcb_poll(); 0: never). Calls nothing.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (d, conn, io, app, io->write,
 * app->step or app->tls_started NULL). */
postie_status postie_rawcb_init(postie_rawcb *d, postie_conn *conn, const postie_rawcb_io *io,
                                const postie_rawcb_app *app, size_t window, unsigned timeout_ms);

/* The connection is up (lwIP: the connected callback): runs the first step.
 * Returns the run's status (POSTIE_AGAIN while running); POSTIE_ERR_PARAM
 * for d NULL. */
postie_status postie_rawcb_start(postie_rawcb *d);

/* A chunk arrived (lwIP: the recv callback). chunk NULL (or len 0): the peer
 * closed (lwIP: p == NULL). Takes as much as the session's input buffer
 * holds, running the session in between; *taken (may be NULL) says how many
 * bytes: keep the rest (lwIP: the pbuf; call tcp_recved() for what was
 * taken) and offer it again after the next postie_rawcb_sent() or
 * postie_rawcb_poll(). Returns the run's status; POSTIE_ERR_PARAM for d
 * NULL or chunk NULL with len > 0. */
postie_status postie_rawcb_recv(postie_rawcb *d, const void *chunk, size_t len, size_t *taken);

/* len bytes left the send buffer (lwIP: the sent callback): the window
 * grows by len and waiting output goes out. Returns the run's status. */
postie_status postie_rawcb_sent(postie_rawcb *d, size_t len);

/* The stack's periodic call (lwIP: tcp_poll, every interval): elapsed_ms
 * since the last one. Counts idle time while the session waits for the
 * peer (a reply, window room, a handshake) and ends it with
 * POSTIE_ERR_TIMEOUT past timeout_ms; retries output the stack refused.
 * Returns the run's status. */
postie_status postie_rawcb_poll(postie_rawcb *d, unsigned elapsed_ms);

/* The stack's connection failed and is gone (lwIP: the err callback; the pcb
 * is already freed): err is a postie status (POSTIE_ERR_CLOSED for a reset,
 * POSTIE_ERR_IO, POSTIE_ERR_TIMEOUT, ...; others map to POSTIE_ERR_IO).
 * Nothing is written after this. Returns the run's status (the session's
 * call reports the failure). */
postie_status postie_rawcb_error(postie_rawcb *d, postie_status err);

/* The handshake start_tls left running ended with result (POSTIE_OK or a
 * failure). Returns the run's status; POSTIE_ERR_STATE when no handshake
 * was running. */
postie_status postie_rawcb_tls_done(postie_rawcb *d, postie_status result);

/* The run's status: POSTIE_AGAIN while running (POSTIE_ERR_PARAM for d NULL). */
postie_status postie_rawcb_result(const postie_rawcb *d);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_RAWCB_H */
