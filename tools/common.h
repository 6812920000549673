/*
 * tools/common.h - helpers shared by postie-fetch and postie-send.
 *
 * Unlike src/, the tools may allocate and use OS headers. Everything here that
 * can be tested without a network is: configuration, ~/.netrc, password
 * sources, exit-code mapping, trace redaction (tests/unit/test_tools_*.c).
 * Delivery (Maildir, mbox, MDA) and the UIDL state file are in deliver.h;
 * sendmail -t header handling in headers.h.
 */
#ifndef POSTIE_TOOLS_COMMON_H
#define POSTIE_TOOLS_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include "postie/status.h"
#include "postie/transport.h"

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

/* ---- configuration ----------------------------------------------------- */

typedef enum tool_tls_mode {
    TOOL_TLS_UNSET = 0,
    TOOL_TLS_OFF,
    TOOL_TLS_STARTTLS,
    TOOL_TLS_IMPLICIT
} tool_tls_mode;

/* Parses "off", "starttls", "implicit" (also "none", "stls", "tls", "on"=starttls
 * is NOT accepted: the three words only). Returns TOOL_TLS_UNSET on others. */
tool_tls_mode tool_tls_parse(const char *s);

/* One account's settings after the file was read: the "defaults" section
 * followed by the account's own lines, later lines winning. Keys are kept as
 * written; tool_cfg_get() looks up "<proto>_<key>" first, then "<key>". */
typedef struct tool_kv {
    char *key;
    char *value;
    int line;
    int dflt;          /* 1: from the "defaults" section */
} tool_kv;

typedef struct tool_cfg {
    char *path;        /* file that was read, or NULL when none */
    char *account;     /* account chosen, or NULL */
    tool_kv *kv;
    size_t n, cap;
} tool_cfg;

/* Default path: $XDG_CONFIG_HOME/postie/config, else ~/.config/postie/config.
 * Returns a malloc'd string, or NULL when neither variable gives a home. */
char *tool_cfg_default_path(void);

/* Reads the file and selects an account: `account` when non-NULL (an error if
 * absent), else the one named by a "default NAME" line, else the first one.
 * A missing file is not an error when `required` is 0 (cfg is then empty) and
 * is when 1 (the user named --config or --account).
 * Returns 0, or -1 with a one-line reason in err (file:line: ...). */
int tool_cfg_load(tool_cfg *cfg, const char *path, const char *account, int required,
                  char *err, size_t errcap);
/* Same from a string (for tests); name is used in messages. */
int tool_cfg_parse(tool_cfg *cfg, const char *name, const char *text, const char *account,
                   char *err, size_t errcap);
const char *tool_cfg_get(const tool_cfg *cfg, const char *proto, const char *key);

/* How to reach the server, from the flags (non-NULL o_* win) or else the
 * account's "<proto>_<key>" / "<key>" settings: tls (default starttls: TLS
 * is required unless the user says otherwise), port (default by TLS mode:
 * ports[0] for off, ports[1] for starttls, ports[2] for implicit), cafile
 * and timeout (seconds, 1..3600; default 60). host and user are left as
 * found (each tool has its own rule for them). Returns 0, or an exit code
 * after printing one line. The strings stay the flags' or cfg's. */
typedef struct tool_server {
    const char *host, *user, *port, *cafile;
    tool_tls_mode tls;
    unsigned timeout_ms;
} tool_server;
typedef struct tool_server_flags {
    const char *host, *port, *user, *tls, *cafile, *timeout;
} tool_server_flags;
int tool_server_resolve(tool_server *sv, const tool_server_flags *o, const tool_cfg *cfg,
                        const char *proto, const char *const ports[3]);
/* yes/no/on/off/true/false/1/0 value of key, or dflt when unset. */
int tool_cfg_bool(const tool_cfg *cfg, const char *key, int dflt);
/* "123", "64k", "10M", "1G" -> bytes. 0 or -1. */
int tool_parse_size(const char *v, unsigned long long *out);
void tool_cfg_free(tool_cfg *cfg);

/* ---- ~/.netrc ---------------------------------------------------------- */

/* Looks up the password for host (and user, when non-NULL: a "machine" entry
 * with another login is skipped) in netrc text; "default" matches any host.
 * Returns a malloc'd password, or NULL when none matches. */
char *tool_netrc_lookup(const char *text, const char *host, const char *user);

/* ---- password sources -------------------------------------------------- */

typedef struct tool_pass_src {
    const char *eval;     /* passwordeval: shell command, first line of stdout */
    const char *env_name; /* password_env: name of an environment variable */
    const char *netrc;    /* path of the netrc file, NULL for ~/.netrc */
    const char *host, *user;
} tool_pass_src;

/* In order: $POSTIE_PASSWORD, eval (when set), env_name (when set), netrc.
 * Returns a malloc'd password, or NULL with a reason in err. */
char *tool_password(const tool_pass_src *src, char *err, size_t errcap);

/* ---- protocol trace ---------------------------------------------------- */

/* Wraps a transport so both directions are written, line by line, to out:
 * "C: " for what we send, "S: " for what we receive. The arguments of PASS,
 * APOP and AUTH, and every client line inside a SASL exchange (from AUTH until
 * the server's final reply), are replaced by "<redacted>", however long the
 * line. Control bytes of either side are shown escaped (tool_escape). */
typedef struct tool_trace {
    postie_transport inner;
    FILE *out;
    int in_auth;         /* a SASL exchange is in progress */
    int ccont, scont;    /* the buffer holds the rest of a line too long for it */
    int cdrop;           /* that client line's start was redacted: hide the rest */
    char cbuf[1024];
    size_t clen;
    char sbuf[1024];
    size_t slen;
} tool_trace;

void tool_trace_wrap(tool_trace *t, const postie_transport *inner, FILE *out,
                     postie_transport *wrapped);
/* Redacts one client line (without CRLF) into out (cap >= 1). *in_auth is
 * the exchange state, updated. Used by the wrapper; exposed for tests. */
void tool_trace_redact(const char *line, int *in_auth, char *out, size_t cap);
/* Tells the redactor about one server line (ends a SASL exchange on a final
 * reply). */
void tool_trace_server_line(const char *line, int *in_auth);

/* ---- small things ------------------------------------------------------ */

/* Expands a leading "~/" with $HOME. malloc'd. */
char *tool_expand_home(const char *path);
/* mkdir -p with mode; 0 or -1 (errno set). */
int tool_mkdirs(const char *path, unsigned mode);
/* fsync of the directory holding path (or of path itself when dir=1). */
int tool_fsync_dir(const char *dir);
char *tool_strdup(const char *s);
/* Formats a byte count as "1.2 MiB". */
void tool_fmt_bytes(double bytes, char *out, size_t cap);

#endif /* POSTIE_TOOLS_COMMON_H */
