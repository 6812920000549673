/*
 * tools/deliver.h - where postie-fetch puts messages, and what it remembers.
 *
 * Destinations: a Maildir (tmp/ -> new/), an mbox (mboxrd quoting, fcntl lock
 * plus a dot-lock), or the standard input of a command (an MDA).
 *
 * The UIDL state file records, per unique-id, "D" (delivered) or "P"
 * (pending: about to be committed to the destination, with what is needed
 * to find out later whether that happened). docs/tools.md describes the
 * protocol that makes a kill at any moment neither lose nor duplicate mail.
 */
#ifndef POSTIE_TOOLS_DELIVER_H
#define POSTIE_TOOLS_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

struct tool_state;

typedef enum tool_dest_kind {
    TOOL_DEST_MAILDIR = 0,
    TOOL_DEST_MBOX,
    TOOL_DEST_MDA
} tool_dest_kind;

typedef struct tool_dest {
    tool_dest_kind kind;
    char *path;              /* Maildir root, mbox file, or MDA command */
    char host[128];          /* for Maildir names, '/' and ':' escaped */
    unsigned long counter;   /* Maildir names: deliveries by this process */
} tool_dest;

/* A message on its way: Maildir streams into tmp/NAME; mbox and MDA collect
 * it in memory (quoting needs whole lines; the MDA is started only once the
 * message is complete, so a dropped connection never feeds it half a one). */
typedef struct tool_msg {
    tool_dest *d;
    int fd;                  /* Maildir: open file in tmp/, else -1 */
    char name[256];          /* Maildir: unique file name */
    char *buf;               /* mbox/MDA: the message, LF line ends */
    size_t len, cap;
    int cr;                  /* a CR is held back (CRLF -> LF across chunks) */
    unsigned long long bytes;/* bytes written after CRLF -> LF */
    char info[320];          /* what a pending state entry records */
} tool_msg;

/* Opens (and for a Maildir creates tmp/, new/, cur/; for an mbox the file)
 * the destination. 0, or -1 with err ("...: reason"); *exit_code then holds
 * the sysexits code (EX_CANTCREAT and friends). */
int tool_dest_open(tool_dest *d, tool_dest_kind kind, const char *path, char *err,
                   size_t errcap, int *exit_code);
void tool_dest_close(tool_dest *d);

/* Starts a message. Maildir: creates tmp/NAME (O_EXCL). */
int tool_msg_begin(tool_dest *d, tool_msg *m, char *err, size_t errcap);
/* Adds bytes as the POP3 client hands them over (CRLF is written as LF). */
int tool_msg_write(tool_msg *m, const void *buf, size_t n, char *err, size_t errcap);
/* The message is complete: Maildir fsyncs and closes the tmp file. Sets
 * m->info to what the pending state entry must record ("maildir NAME",
 * "mbox", "mda"). */
int tool_msg_finish(tool_msg *m, char *err, size_t errcap);
/* Puts the message where it belongs, durably. The caller has already saved a
 * pending entry (uid, m->info) for a Maildir or an MDA; for an mbox the
 * offset is only known under the lock, so commit saves the pending entry
 * "mbox OFFSET LENGTH" in st itself, after locking and before appending.
 *   Maildir: rename tmp/NAME -> new/NAME, then fsync new/ (unless nosync:
 *            the caller then calls tool_dest_sync() before recording it);
 *   mbox:    lock, save the pending entry "mbox OFFSET LENGTH HASH" (the
 *            file's length before the append, the append's length and
 *            FNV-1a hash), append a From line, the mboxrd-quoted message and
 *            a blank line, fsync, unlock; on a failed write the file is
 *            truncated back to its old size (nothing half-written is left);
 *   MDA:     runs the command with the message on stdin; success is exit 0.
 *            POSTIE_UIDL is set in its environment to uid.
 * 0, or -1 with err and *exit_code. */
int tool_msg_commit(tool_msg *m, const char *uid, struct tool_state *st, int nosync,
                    char *err, size_t errcap, int *exit_code);
/* fsync of the Maildir's new/ (after several nosync commits). */
int tool_dest_sync(tool_dest *d);
/* Drops a message that was not committed (removes tmp/NAME). */
void tool_msg_abort(tool_msg *m);

/* Was the message of a pending state entry (its info) committed?
 *   TOOL_RESOLVE_YES      yes (Maildir: the file is in new/ or cur/; mbox:
 *                         the recorded bytes are in the file, see deliver.c);
 *   TOOL_RESOLVE_NO       no (a left-over tmp file is removed; a partial mbox
 *                         append is cut off);
 *   TOOL_RESOLVE_UNKNOWN  cannot tell: an MDA (the caller delivers again and
 *                         warns, docs/tools.md), or an mbox changed since in a
 *                         way that hides it (the caller keeps the entry and the
 *                         message on the server, and says so);
 *   TOOL_RESOLVE_BUSY     the mbox is locked by a live process: try later. */
enum {
    TOOL_RESOLVE_NO = 0,
    TOOL_RESOLVE_YES = 1,
    TOOL_RESOLVE_UNKNOWN = -1,
    TOOL_RESOLVE_BUSY = -2
};
int tool_dest_resolve(tool_dest *d, const char *info);

/* mboxrd quoting of a whole message (LF line ends): every line matching
 * ^>*From  gets one more '>'; a final LF is added when missing. Returns a
 * malloc'd buffer and its length in *outlen, or NULL. */
char *tool_mboxrd_quote(const char *in, size_t n, size_t *outlen);

/* ---- the UIDL state file ------------------------------------------------- */

typedef struct tool_state_entry {
    char *uid;
    char kind;   /* 'D' delivered, 'P' pending */
    char *info;  /* pending: destination info; NULL for 'D' */
} tool_state_entry;

typedef struct tool_state {
    char *path;
    int lockfd;
    tool_state_entry *e;
    size_t n, cap;
    size_t *idx;       /* hash index of e by uid (entry index + 1; 0 empty) */
    size_t idxcap;     /* a power of two, or 0 */
} tool_state;

/* Default state path for an account: $XDG_STATE_HOME/postie/uidl/USER@HOST:PORT
 * (else ~/.local/state/...). malloc'd. */
char *tool_state_default_path(const char *user, const char *host, const char *port);

/* Reads the file (a missing one is empty) and takes an exclusive lock on
 * PATH.lock so two runs for one account cannot interleave. 0, or -1 with err;
 * *exit_code is EX_TEMPFAIL when another run holds the lock, EX_CANTCREAT or
 * EX_DATAERR (a malformed file) otherwise. */
int tool_state_open(tool_state *s, const char *path, char *err, size_t errcap, int *exit_code);
/* Replaces the file atomically: PATH.tmp written, fsynced, renamed over PATH,
 * directory fsynced. 0 or -1 (errno kept). */
int tool_state_save(tool_state *s, char *err, size_t errcap);
/* Lookups, additions and removals take constant time on average (a hash
 * index), so a maildrop of 100,000 messages is planned in linear time.
 * Pointers returned by find stay valid until the next set or remove. */
tool_state_entry *tool_state_find(tool_state *s, const char *uid);
/* Sets uid's entry (adding it). info is copied; NULL for 'D'. 0 or -1. */
int tool_state_set(tool_state *s, const char *uid, char kind, const char *info);
void tool_state_remove(tool_state *s, const char *uid);
void tool_state_close(tool_state *s);

#endif /* POSTIE_TOOLS_DELIVER_H */
