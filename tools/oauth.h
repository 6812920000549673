/*
 * tools/oauth.h - OAuth 2.0 for postie-fetch and postie-send: the provider
 * (a preset, or RFC 8414 metadata discovery), the authorize command (device
 * authorization grant, RFC 8628; authorization code grant with PKCE and a
 * loopback redirect, RFC 7636 / RFC 8252), the per-account token file, and
 * the access token a login uses (refreshed before it expires, and once more
 * after the server refuses it).
 *
 * No token, code or verifier is ever printed: not in messages, not in the
 * trace (trace.c redacts the AUTH exchange), not in errors.
 *
 * Settings (man/postie.5; each also as pop3_... / smtp_...):
 *   oauth_provider   microsoft | google | an issuer URL (https)
 *   oauth_client_id  the application's client id (required)
 *   oauth_client_secret  for clients that have one (Google's desktop apps)
 *   oauth_tenant     Microsoft: common (default), organizations, consumers, or an id
 *   oauth_scope      scopes instead of the preset's / "offline_access"
 *   oauth_flow       device | browser (default: device where the provider has it)
 *   oauth_mechanism  auto (default: OAUTHBEARER, else XOAUTH2, as the server
 *                    offers) | oauthbearer | xoauth2
 *   oauth_token_file where the tokens are kept (default
 *                    $XDG_STATE_HOME/postie/oauth/USER.json)
 */
#ifndef POSTIE_TOOLS_OAUTH_H
#define POSTIE_TOOLS_OAUTH_H

#include <stddef.h>
#include "config.h"
#include "postie/status.h"

/* Seconds before its expiry that an access token is refreshed (or a
 * quarter of its lifetime, when that is shorter). */
#define TOOL_OAUTH_MARGIN 60

typedef struct tool_oauth {
    int active;              /* the account uses OAuth 2.0 */
    const char *user;
    char *provider;          /* "microsoft", "google" or the issuer URL */
    char *issuer;            /* discovered or preset issuer, may be NULL */
    char *auth_ep, *token_ep, *device_ep;
    char *client_id, *client_secret, *scope;
    const char *extra_auth;  /* extra authorization request parameters (Google) */
    char *token_path, *lock_path;
    char *hint;              /* the command that (re-)authorizes */
    const char *flow;        /* configured flow, or NULL */
    unsigned timeout_ms;
    unsigned mechs;          /* POSTIE_SASL_* bits the login may use */
    char *ready;             /* tool_oauth_prefetch's token, until the login uses it */
    int lock_fd;
} tool_oauth;

/* 1 when the account's settings for proto ask for OAuth 2.0 (oauth_provider). */
int tool_oauth_wanted(const tool_cfg *cfg, const char *proto);

/* Reads the account's OAuth settings (no network). hint is the command the
 * user runs to authorize (copied). Returns 0, or an exit code after a
 * message (78: a setting is missing or wrong). */
int tool_oauth_setup(tool_oauth *o, const tool_cfg *cfg, const char *proto, const char *user,
                     unsigned timeout_ms, const char *hint);

/* The authorize command: flow "device", "browser" or NULL (the configured
 * one, else device when the provider has a device endpoint, else browser).
 * Prints the instructions on stderr, waits for the user, saves the tokens.
 * Returns 0 or an exit code (77 refused/expired, 75 provider unreachable,
 * 78 configuration, 73/74 token file). */
int tool_oauth_authorize(tool_oauth *o, const char *flow);

/* A login with the account's access token. auth(ctx, token) runs the
 * protocol's AUTH and returns its status. The token is refreshed first when
 * it expires within TOOL_OAUTH_MARGIN seconds, and once more (then AUTH
 * tried again) when the server refuses it with POSTIE_ERR_AUTH. *st gets the
 * last AUTH status. Returns 0 (logged in), -1 (AUTH failed with *st: the
 * caller reports it), or an exit code after a message (token not
 * available: 77 with the re-authorize command, 75 provider unreachable with
 * the stored tokens kept, 74 token file not written). */
typedef postie_status (*tool_oauth_auth_fn)(void *ctx, const char *token);

/* Gets the access token (refreshing it as tool_oauth_login would) before
 * the tool connects to the mail server, so that an unreachable provider or
 * a revoked grant is reported without a mail connection; tool_oauth_login
 * then uses it first. 0, or an exit code after a message. */
int tool_oauth_prefetch(tool_oauth *o);

int tool_oauth_login(tool_oauth *o, tool_oauth_auth_fn auth, void *ctx, postie_status *st);

/* "PROG --authorize[ -C CONFIG][ -a ACCOUNT]" into a malloc'd string. */
char *tool_oauth_hint(const char *prog, const char *config, const char *account);

/* tool_oauth_setup with the hint "tool_progname --authorize[ -C
 * config_flag][ -a ACCOUNT]" (config_flag: the -C the user gave, or NULL). */
int tool_oauth_prepare(tool_oauth *o, const tool_cfg *cfg, const char *proto, const char *user,
                       unsigned timeout_ms, const char *config_flag);

/* The --authorize command of a tool: the account must set oauth_provider.
 * flow as for tool_oauth_authorize. 0 or an exit code. */
int tool_oauth_authorize_cmd(const tool_cfg *cfg, const char *proto, const char *user,
                             unsigned timeout_ms, const char *config_flag, const char *flow);

void tool_oauth_free(tool_oauth *o);

#endif /* POSTIE_TOOLS_OAUTH_H */
