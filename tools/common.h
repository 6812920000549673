/*
 * tools/common.h - what every part of postie-fetch and postie-send shares:
 * the program's messages, exit codes, tool_strdup.
 *
 * Unlike src/, the tools may allocate and use OS headers. The other helpers
 * are one concern each: config.h (configuration file, server settings),
 * netrc.h, password.h (password sources), trace.h (--trace), files.h (file
 * helpers), deliver.h and target.h (delivery targets), state.h (the UIDL
 * state file), headers.h and rcpt.h (addresses), net.h (connecting).
 * Everything that can be tested without a network is
 * (tests/unit/test_tools_*.c).
 */
#ifndef POSTIE_TOOLS_COMMON_H
#define POSTIE_TOOLS_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include "postie/status.h"

/* sysexits.h values, spelt out so the meaning is visible where they are used. */
enum {
    TOOL_EX_OK = 0,
    TOOL_EX_USAGE = 64,       /* bad command line */
    TOOL_EX_DATAERR = 65,     /* bad message input (postie-send) */
    TOOL_EX_NOINPUT = 66,     /* an input file could not be read */
    TOOL_EX_NOUSER = 67,      /* every recipient was refused */
    TOOL_EX_NOHOST = 68,      /* host name does not resolve */
    TOOL_EX_UNAVAILABLE = 69, /* server refused permanently / feature unavailable */
    TOOL_EX_SOFTWARE = 70,    /* internal error */
    TOOL_EX_OSERR = 71,       /* fork, pipe and the like failed */
    TOOL_EX_CANTCREAT = 73,   /* cannot create the Maildir, mbox or state file */
    TOOL_EX_IOERR = 74,       /* a write or fsync failed (full disk) */
    TOOL_EX_TEMPFAIL = 75,    /* try again later: network down, 4xx, timeout */
    TOOL_EX_PROTOCOL = 76,    /* malformed server dialogue, TLS failure, bad certificate */
    TOOL_EX_NOPERM = 77,      /* authentication refused */
    TOOL_EX_CONFIG = 78       /* configuration missing or malformed, no password */
};

/* Maps a library status (of a network step) to a sysexits code. */
int tool_exit_for_status(postie_status st);

/* ---- messages ---------------------------------------------------------- */

extern const char *tool_progname; /* "postie-fetch" or "postie-send" */
extern int tool_verbosity;        /* -q: -1, default 0, -v: 1 */

/* "progname: message\n" on stderr. */
void tool_err(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The text of the last tool_err() (unescaped, cut at 511 bytes): what
 * postie-send's outbox records as the reason a message waits. */
extern char tool_last_err[512];
/* Same, only with -v. Both show control bytes escaped (tool_escape). */
void tool_info(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Writes n bytes of s to out with what could drive a terminal escaped:
 * control bytes (ESC, BEL, CR, LF, DEL...), C1 controls and bytes that are
 * not valid UTF-8 as \xNN, a tab as \t; printable ASCII and valid UTF-8
 * as they are. */
void tool_escape(FILE *out, const char *s, size_t n);

char *tool_strdup(const char *s);
/* The first n bytes of s, NUL-terminated. malloc'd. */
char *tool_strndup(const char *s, size_t n);

#endif /* POSTIE_TOOLS_COMMON_H */
