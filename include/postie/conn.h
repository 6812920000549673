/*
 * postie/conn.h - the connection engine both sessions run on (no I/O).
 *
 * One engine for POP3 and SMTP: an output queue of commands and body bytes,
 * the one line framer over the bytes that arrived, the list of commands
 * awaiting their reply (oldest first, each with the protocol's tag and
 * datum, so every reply is matched to the command that asked for it), the
 * mapping of transport results to statuses, and one definition of a dead
 * connection. The protocols plug in their own classifiers on top of the
 * framed lines (pop3_proto.h, smtp_proto.h).
 *
 * Whoever owns the socket moves the bytes (docs/event-loop.md):
 *
 *   out = postie_conn_out(c, &n);  ... send up to n bytes ...
 *   postie_conn_out_done(c, sent);
 *   in = postie_conn_in(c, &cap);  ... receive up to cap bytes ...
 *   postie_conn_in_done(c, got);   (got == 0: the peer closed)
 *   postie_conn_fail(c, POSTIE_ERR_TIMEOUT);  (the owner's clock ran out)
 *
 * The blocking clients do the same through postie_conn_pump() and a
 * postie_transport.
 */
#ifndef POSTIE_CONN_H
#define POSTIE_CONN_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/line.h"
#include "postie/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* postie_conn_want() bits. */
#define POSTIE_WANT_WRITE 0x1u /* bytes wait in the output queue */
#define POSTIE_WANT_READ  0x2u /* a reply is awaited and no unread byte is buffered */

/* A monotonic clock in milliseconds (any origin; wrapping is fine). */
typedef unsigned long (*postie_clock_fn)(void *ctx);

/* A command awaiting its reply. */
typedef struct postie_conn_cmd {
    unsigned long arg;   /* the protocol's datum (a message number, a recipient index) */
    unsigned long end;   /* output stream offset just past the command's last byte */
    unsigned char tag;   /* the protocol's kind of command */
} postie_conn_cmd;

typedef struct postie_conn {
    size_t in_pos, in_len;            /* in[in_pos..in_len) not consumed yet */
    size_t out_pos, out_len;          /* out[out_pos..out_len) not sent yet */
    unsigned long queued, sent;       /* bytes ever queued / ever handed to the transport */
    size_t build;                     /* start of the command being built */
    unsigned char head, n;
    unsigned char over;               /* the command being built did not fit */
    unsigned char lockstep;           /* send a command only once every earlier one has its reply */
    unsigned char eof;                /* the peer closed; what is buffered may still be read */
    unsigned char starved;            /* a step waits for input that has not arrived */
    signed char dead;                 /* POSTIE_OK while alive, else the status that ended it */
#if POSTIE_WITH_DEADLINE
    unsigned long received;           /* bytes ever received (for min_rate) */
    postie_clock_fn clock;            /* postie_conn_set_deadline(); NULL: none */
    void *clock_ctx;
    unsigned long deadline_ms;        /* time a call may take, plus ... */
    unsigned long min_rate;           /* ... 1 s per min_rate bytes it moves */
    unsigned long win_start;          /* when the current call began (clock) */
    unsigned long win_moved;          /* sent + received when it began */
#endif
    postie_conn_cmd cmds[POSTIE_PIPELINE_MAX]; /* ring of commands awaiting a reply */
    postie_line line;                 /* the reply line being framed */
    char in[POSTIE_RECV_BUF_SIZE];    /* bytes that arrived */
    char out[POSTIE_CMD_MAX];         /* bytes to send */
} postie_conn;

/* Empties c: nothing queued, nothing buffered, alive, lockstep on. */
void postie_conn_init(postie_conn *c);

/* ---- the owner of the socket ---------------------------------------------- */

/* Bytes to send now (*len of them; NULL and 0 when none may go). In lockstep
 * only the oldest command awaiting its reply (and the bytes before it) may
 * go; untagged bytes (a message body) go once no command is awaiting. */
const char *postie_conn_out(const postie_conn *c, size_t *len);
/* n bytes of postie_conn_out() were handed to the transport. */
void postie_conn_out_done(postie_conn *c, size_t n);
/* Room for arriving bytes (*cap of them; NULL and 0 when the buffer is full
 * or the connection is dead or closed). */
char *postie_conn_in(postie_conn *c, size_t *cap);
/* n bytes arrived in postie_conn_in()'s room; n == 0: the peer closed. */
void postie_conn_in_done(postie_conn *c, size_t n);
/* What the connection waits for: POSTIE_WANT_* bits (0 when idle or dead). */
unsigned postie_conn_want(const postie_conn *c);
/* Ends the connection with the status for transport result r (a timeout, a
 * reset, a failed TLS record): postie_conn_map(r). Returns that status. */
postie_status postie_conn_fail(postie_conn *c, long r);
/* A transport's negative result as a status: its own I/O statuses are kept
 * (TIMEOUT, CLOSED, IO, TLS, TLS_VERIFY, NOMEM), anything else is ERR_IO. */
postie_status postie_conn_map(long r);
/* POSTIE_OK while alive, else the status that ended the connection. */
postie_status postie_conn_status(const postie_conn *c);

/* ---- the protocol sessions -------------------------------------------------- */

/* Commands are built in place: begin, pieces, end. A piece that does not fit
 * marks the command; end() then drops it and says POSTIE_ERR_BUFFER. */
void postie_conn_begin(postie_conn *c);
void postie_conn_add(postie_conn *c, const char *s);
void postie_conn_add_mem(postie_conn *c, const void *s, size_t n);
void postie_conn_add_num(postie_conn *c, unsigned long long v);
/* base64 of raw[0..n) (nothing for n == 0). */
void postie_conn_add_b64(postie_conn *c, const void *raw, size_t n);
/* Ends the command with CRLF and records it (tag, arg) as awaiting a reply.
 * POSTIE_ERR_BUFFER: it did not fit the output queue; POSTIE_ERR_BUSY: the
 * ring of awaiting commands is full; POSTIE_ERR_STATE: dead. Nothing of a
 * refused command stays queued. */
postie_status postie_conn_end(postie_conn *c, unsigned tag, unsigned long arg);
/* Drops the command being built (a secret it held is wiped). */
void postie_conn_abandon(postie_conn *c);
/* Queues untagged bytes (message body). POSTIE_ERR_BUFFER when fewer than n
 * bytes of room are left: see postie_conn_out_room(). */
postie_status postie_conn_put(postie_conn *c, const void *data, size_t n);
/* Room left in the output queue (after moving unsent bytes to the front). */
size_t postie_conn_out_room(postie_conn *c);
/* Writable tail of the output queue (*cap bytes) for an encoder to fill;
 * postie_conn_commit() then queues n of them. */
char *postie_conn_out_tail(postie_conn *c, size_t *cap);
void postie_conn_commit(postie_conn *c, size_t n);
/* Records that the untagged bytes queued so far end with a command whose
 * reply is awaited (SMTP's final dot, BDAT): like postie_conn_end() without
 * building anything. */
postie_status postie_conn_expect(postie_conn *c, unsigned tag, unsigned long arg);

/* Frames the next reply line from the buffered input.
 *   POSTIE_DONE   c->line.buf holds a line (NUL-terminated, c->line.len
 *                 bytes, no CRLF) until the next call.
 *   POSTIE_AGAIN  more input is needed, or the oldest awaiting command has
 *                 not gone out whole yet (a reply is never matched to a
 *                 command the server has not seen).
 *   errors        the connection is dead (ERR_LINE_TOO_LONG, ERR_CLOSED for
 *                 a peer that closed mid-reply, or what killed it). */
postie_status postie_conn_line(postie_conn *c);
/* Unread input bytes (a message body is decoded straight from them):
 * *n bytes at the returned pointer; postie_conn_consume() takes them. */
const char *postie_conn_input(const postie_conn *c, size_t *n);
void postie_conn_consume(postie_conn *c, size_t n);
/* AGAIN when no input is buffered and the peer has not closed; ERR_CLOSED
 * when it has; the dead status when dead; else POSTIE_OK. */
postie_status postie_conn_input_status(postie_conn *c);

/* The oldest command awaiting its reply, or NULL. */
const postie_conn_cmd *postie_conn_head(const postie_conn *c);
/* Number of commands awaiting their reply. */
unsigned postie_conn_awaiting(const postie_conn *c);
/* The oldest command's reply is complete: forget it. */
void postie_conn_pop(postie_conn *c);
/* 1 when every byte of the oldest awaiting command went to the transport. */
int postie_conn_head_sent(const postie_conn *c);
/* Ends the connection with st (a protocol error): nothing more is sent or
 * read. Returns st. The first status kept is the one reported after. */
postie_status postie_conn_kill(postie_conn *c, postie_status st);
/* Forgets everything buffered in both directions and every awaiting
 * command, keeping the connection alive (after STLS/STARTTLS). */
void postie_conn_reset(postie_conn *c);

/* ---- the blocking drivers ---------------------------------------------------- */

/*
 * Overall deadline of each call (docs/architecture.md, "Deadlines"): a call
 * of the blocking API fails with POSTIE_ERR_TIMEOUT once it has run longer
 * than deadline_ms plus one second for every min_rate bytes it moved (in
 * either direction), however the bytes trickle in: a server that sends one
 * byte just inside every per-read timeout cannot hold a call forever, and a
 * large message on a slow link gets the time its size needs. A message body
 * or listing read over several calls counts as one call. The per-read
 * timeout still bounds each wait. clock NULL or deadline_ms 0: no deadline
 * (the default). min_rate 0: deadline_ms alone, whatever moves.
 * Returns POSTIE_OK, or POSTIE_ERR_UNSUPPORTED (POSTIE_WITH_DEADLINE 0:
 * nothing is set).
 */
postie_status postie_conn_set_deadline(postie_conn *c, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx);
/* Starts a call's window (the drivers do this for each new call). */
void postie_conn_window(postie_conn *c);

/* One round of I/O over t: sends everything postie_conn_out() offers, then,
 * when a step is waiting for input that has not arrived (not merely for
 * room in the output queue), one receive. POSTIE_OK
 * when something moved, POSTIE_AGAIN when t said it would block or t has
 * no send/recv (the caller moves the bytes), else the
 * status that ended the connection (the connection is dead). A transport
 * that would block returns POSTIE_ERR_WOULD_BLOCK from send or recv. */
postie_status postie_conn_pump(postie_conn *c, const postie_transport *t, unsigned timeout_ms);

/* Sends everything postie_conn_out() offers over t, receiving nothing:
 * POSTIE_OK, POSTIE_AGAIN (t would block, or has no send), or the status
 * that ended the connection. */
postie_status postie_conn_flush(postie_conn *c, const postie_transport *t, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_CONN_H */
