/*
 * tools/outbox.h - postie-send's durable outbox: --queue stores a message
 * with its envelope, --flush sends what waits (one connection per account),
 * --list-queue says what waits and why. docs/tools.md ("The outbox")
 * describes the files and why no message is lost or sent twice.
 *
 * The outbox is a folder: queue/ID.msg (the envelope, a blank line, the
 * message), queue/ID.st (retry state: attempts, next try, last reply),
 * queue/ID.end (written and synced just before the end of the message goes
 * out), failed/ (messages the server refused, or that waited too long, each
 * with its .st holding the reason), tmp/ (a --queue being written) and log
 * (one line per outcome). A flush takes an flock on each ID.msg it sends,
 * so two flushes never send the same message.
 */
#ifndef POSTIE_TOOLS_OUTBOX_H
#define POSTIE_TOOLS_OUTBOX_H

#include <stddef.h>
#include "config.h"
#include "headers.h"
#include "postie/smtp.h"

/* The account a message was queued for: the flags as given (NULL: not
 * given), resolved again when it is sent. */
typedef struct tool_outbox_acct {
    char *account, *config;
    char *host, *port, *user, *tls, *cafile, *timeout;
} tool_outbox_acct;

/* What a flush needs from postie-send: the account's settings and a logged-in
 * session. Each call gets ctx. */
typedef struct tool_outbox_ops {
    void *ctx;
    /* The configuration and server settings for a (no network). 0, or an
     * exit code after printing one line. *cfg stays valid until close(). */
    int (*resolve)(void *ctx, const tool_outbox_acct *a, const tool_cfg **cfg);
    /* Connects and logs in (after resolve). 0 and *smtp, or an exit code
     * after printing one line. */
    int (*login)(void *ctx, postie_smtp **smtp);
    /* hook(u, 0) runs just before the bytes that end the message (CRLF "."
     * CRLF) go out, and a non-zero return keeps them from going; hook(u, 1)
     * once they went out. Set before each message (it also forgets whether
     * the last message's end went out). */
    void (*end_hook)(void *ctx, int (*hook)(void *u, int sent), void *u);
    /* 1 when the end of the message being sent went out. */
    int (*end_sent)(void *ctx);
    /* QUIT (quit 1) or drop the connection, and free what resolve made. */
    void (*close)(void *ctx, int quit);
} tool_outbox_ops;

/* The outbox folder: dir when non-NULL, else the account's 'outbox' key,
 * else $XDG_STATE_HOME/postie/outbox (~/.local/state/postie/outbox).
 * malloc'd, or NULL (out of memory, or no HOME). */
char *tool_outbox_dir(const char *dir, const tool_cfg *cfg);

/* Stores the message and its envelope: written and synced in tmp/, renamed
 * into queue/, the folder synced. Prints "queued as ID" with -v. Returns 0
 * only once the message is safe on disk, else an exit code after one line
 * (64: a value holding CR, LF or NUL; 73/74: cannot create or write). */
int tool_outbox_enqueue(const char *dir, const tool_outbox_acct *a, const char *from,
                        const tool_strv *rcpts, const char *msg, size_t len);

/* --list-queue: what waits (and why), what is being sent, what was moved
 * aside, on standard output. An exit code. */
int tool_outbox_list(const char *dir);

/* --flush: sends what is due, one connection per account (per 256
 * messages). only_account: only messages queued with -a of that name.
 * Returns 0 when every message tried was accepted (or none was due), else
 * the exit code of the first that was not (75 deferred or outcome unknown,
 * 67/69 refused and moved aside, or the connection's). */
int tool_outbox_flush(const char *dir, const char *only_account, const tool_outbox_ops *ops);

/* "90", "90s", "15m", "2h", "5d" -> seconds. 0 or -1. */
int tool_outbox_parse_duration(const char *v, long long *out);

#endif /* POSTIE_TOOLS_OUTBOX_H */
