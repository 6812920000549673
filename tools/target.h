/*
 * tools/target.h - what a delivery target provides.
 *
 * A target is one file (target_maildir.c, target_mbox.c, target_mda.c)
 * defining one tool_target, and one row in tool_targets[] (deliver.c). Its
 * name is postie-fetch's --NAME flag and the account's NAME key. deliver.c
 * does what all targets share (CRLF -> LF, the in-memory message buffer,
 * dispatching) and calls these; each returns what the tool_msg_* or
 * tool_dest_* call it serves returns (deliver.h).
 */
#ifndef POSTIE_TOOLS_TARGET_H
#define POSTIE_TOOLS_TARGET_H

#include <stddef.h>
#include "deliver.h"
#include "files.h" /* tool_write_all */

typedef struct tool_target {
    const char *name;   /* "maildir" */
    const char *arg;    /* the flag's argument in --help: "DIR" */
    const char *help;   /* --help line: "a Maildir (created when missing)" */
    int path_is_file;   /* 1: the path is a file name (a leading ~/ is expanded) */
    int batches;        /* 1: commits with nosync, one sync per batch */
    /* after tool_dest_open() filled d->path and d->host; may be NULL */
    int (*open)(tool_dest *d, char *err, size_t errcap, int *exit_code);
    /* may be NULL: the message is collected in memory (tool_msg_buffer_add) */
    int (*begin)(tool_msg *m, char *err, size_t errcap);
    /* bytes with LF line ends; 0, or -1 with errno set */
    int (*out)(tool_msg *m, const char *p, size_t n);
    /* the message is complete: set m->info, start making it durable where
     * it waits (or make it durable: then durable is NULL) */
    int (*finish)(tool_msg *m, char *err, size_t errcap);
    /* may be NULL: makes a finished message durable where it waits (its
     * pending entry may be saved after this); called before commit */
    int (*durable)(tool_msg *m, char *err, size_t errcap);
    /* may be NULL: makes n finished messages durable at once, with one
     * flush of the destination's whole file system. Returns how many of
     * them, in order, are durable (n: all), or -1 when it could not tell
     * (nothing changed: the caller makes each durable on its own) */
    long (*durable_group)(tool_msg *const *ms, size_t n);
    int (*commit)(tool_msg *m, const char *uid, tool_state *st, int nosync, char *err,
                  size_t errcap, int *exit_code);
    int (*sync)(tool_dest *d);     /* may be NULL */
    void (*abort)(tool_msg *m);    /* may be NULL; the buffer is freed by deliver.c */
    /* a pending entry "NAME ARGS" of this target: args is ARGS ("" if none) */
    int (*resolve)(tool_dest *d, const char *args);
} tool_target;

extern const tool_target tool_target_maildir;
extern const tool_target tool_target_mbox;
extern const tool_target tool_target_mda;

/* ---- helpers the targets share (deliver.c) ---- */

/* EX_IOERR for a full disk and friends, else EX_CANTCREAT. */
int tool_exit_for_errno(int e);
/* "a/b" or "a/b/c" (c NULL: "a/b"), malloc'd. */
char *tool_path_join(const char *a, const char *b, const char *c);
/* Appends to m->buf (the in-memory message); 0 or -1 (errno ENOMEM). */
int tool_msg_buffer_add(tool_msg *m, const char *p, size_t n);

#endif /* POSTIE_TOOLS_TARGET_H */
