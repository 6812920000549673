/*
 * tools/config.h - the configuration file and the server settings of an account.
 */
#ifndef POSTIE_TOOLS_CONFIG_H
#define POSTIE_TOOLS_CONFIG_H

#include <stddef.h>

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

#endif /* POSTIE_TOOLS_CONFIG_H */
