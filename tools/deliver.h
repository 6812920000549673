/*
 * tools/deliver.h - where postie-fetch puts messages.
 *
 * A destination is one of the delivery targets of tool_targets[] (one file
 * each: target_maildir.c, target_mbox.c, target_mda.c; target.h says what a
 * target provides). This file is what postie-fetch calls; it hands each
 * step to the destination's target. The UIDL state file is state.h.
 * docs/tools.md describes the protocol that makes a kill at any moment
 * neither lose nor duplicate mail.
 */
#ifndef POSTIE_TOOLS_DELIVER_H
#define POSTIE_TOOLS_DELIVER_H

#include <stddef.h>
#include "state.h"

struct tool_target;

typedef struct tool_dest {
    const struct tool_target *t;
    char *path;              /* Maildir root, mbox file, or MDA command */
    char host[128];          /* this host's name, '/' and ':' escaped (Maildir names, locks) */
    unsigned long counter;   /* Maildir names: deliveries by this process */
    long pid;                /* Maildir names: this process (getpid() once) */
} tool_dest;

/* A message on its way: Maildir streams into tmp/NAME; mbox and MDA collect
 * it in memory (quoting needs whole lines; the MDA is started only once the
 * message is complete, so a dropped connection never feeds it half a one).
 * postie-fetch bounds a message by its announced size before it gets here. */
typedef struct tool_msg {
    tool_dest *d;
    int fd;                  /* Maildir: open file in tmp/, else -1 */
    char name[256];          /* Maildir: unique file name */
    char *buf;               /* mbox/MDA: the message, LF line ends */
    size_t len, cap;
    int cr;                  /* a CR is held back (CRLF -> LF across chunks) */
    unsigned long long bytes;/* bytes written after CRLF -> LF */
    char info[320];          /* what a pending state entry records: "TARGET ARGS" */
} tool_msg;

/* The targets, in the order the help lists them, NULL-terminated. */
extern const struct tool_target *const tool_targets[];
/* The target called name ("maildir", "mbox", "mda"), or NULL. */
const struct tool_target *tool_target_find(const char *name);
const char *tool_target_name(const struct tool_target *t);
/* 1 when the target's commits of a batch share one tool_dest_sync() (and
 * their pending entries one state save before them): a Maildir. Else each
 * message is committed and recorded on its own. */
int tool_target_batches(const struct tool_target *t);

/* Opens (and for a Maildir creates tmp/, new/, cur/; for an mbox the file)
 * the destination. 0, or -1 with err ("...: reason"); *exit_code then holds
 * the sysexits code (EX_CANTCREAT and friends). */
int tool_dest_open(tool_dest *d, const struct tool_target *t, const char *path, char *err,
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
/* Makes a finished message durable where it waits (Maildir: fsync and
 * close of tmp/NAME, whose writeback finish started), so that its pending
 * entry may be saved; the fsyncs of a batch thus come in a row. Commit
 * does it too when it was not done. 0, or -1 with err. */
int tool_msg_durable(tool_msg *m, char *err, size_t errcap);
/* Makes the n finished messages ms[] durable where they wait with one flush
 * where the target has one (Maildir on Linux: syncfs(2) of the file
 * system), else each on its own (tool_msg_durable). *whole_fs is set to 1
 * when the flush was of the destination's whole file system (so it also
 * made the Maildir's earlier renames durable), else 0. Returns how many of
 * them, from the first, are durable: n, or fewer with err set to why the
 * next one is not. */
size_t tool_msgs_durable(tool_msg *const *ms, size_t n, int *whole_fs, char *err,
                         size_t errcap);
/* Puts the message where it belongs, durably. The caller has already saved a
 * pending entry (uid, m->info) for a Maildir or an MDA; for an mbox the
 * offset is only known under the lock, so commit saves the pending entry in
 * st itself, after locking and before appending (st NULL: no entry).
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
int tool_msg_commit(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                    size_t errcap, int *exit_code);
/* Makes nosync commits durable (a Maildir's fsync of new/); 0 or -1. */
int tool_dest_sync(tool_dest *d);
/* Drops a message that was not committed (removes tmp/NAME). */
void tool_msg_abort(tool_msg *m);

/* Was the message of a pending state entry (its info) committed?
 *   TOOL_RESOLVE_YES      yes (Maildir: the file is in new/ or cur/; mbox:
 *                         the recorded bytes are in the file, target_mbox.c);
 *   TOOL_RESOLVE_NO       no (a left-over tmp file is removed; a partial mbox
 *                         append is cut off); also for an entry of another
 *                         target than the destination's;
 *   TOOL_RESOLVE_UNKNOWN  cannot tell: an mbox changed since in a way that
 *                         hides it (the caller keeps the entry and the message
 *                         on the server, and says so: never guessed);
 *   TOOL_RESOLVE_AGAIN    cannot be asked: an MDA (the caller delivers again
 *                         and warns: at least once, docs/tools.md);
 *   TOOL_RESOLVE_BUSY     the mbox is locked by a live process: try later. */
enum {
    TOOL_RESOLVE_NO = 0,
    TOOL_RESOLVE_YES = 1,
    TOOL_RESOLVE_UNKNOWN = -1,
    TOOL_RESOLVE_BUSY = -2,
    TOOL_RESOLVE_AGAIN = -3
};
int tool_dest_resolve(tool_dest *d, const char *info);

/* mboxrd quoting of a whole message (LF line ends): every line matching
 * ^>*From  gets one more '>'; a final LF is added when missing. Returns a
 * malloc'd buffer and its length in *outlen, or NULL. */
char *tool_mboxrd_quote(const char *in, size_t n, size_t *outlen);

#endif /* POSTIE_TOOLS_DELIVER_H */
