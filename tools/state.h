/*
 * tools/state.h - the UIDL state file of postie-fetch.
 *
 * Per unique-id, "D" (delivered) or "P" (pending: about to be committed to
 * the destination, with what is needed to find out later whether that
 * happened). docs/tools.md describes the protocol that makes a kill at any
 * moment neither lose nor duplicate mail.
 */
#ifndef POSTIE_TOOLS_STATE_H
#define POSTIE_TOOLS_STATE_H

#include <stddef.h>

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

#endif /* POSTIE_TOOLS_STATE_H */
