/*
 * postie/sasl.h - SASL client steps with no I/O (RFC 4422 framework).
 *
 * Each function builds the *raw* (not yet base64-encoded) client response of
 * one mechanism step into a caller buffer; the protocol client (SMTP AUTH,
 * later POP3 AUTH) base64-encodes it and puts it on the wire. Challenges are
 * passed already base64-decoded. Nothing here allocates or keeps state.
 *
 * Mechanisms (bit values, so a set of them fits in an unsigned):
 *   PLAIN        RFC 4616   authzid NUL authcid NUL passwd
 *   LOGIN        draft-murchison-sasl-login: user, then password, each as
 *                the answer to a server prompt
 *   CRAM-MD5     RFC 2195   "user " + lowercase hex HMAC-MD5(pass, challenge)
 *   XOAUTH2      Google/Microsoft: "user=" u ^A "auth=Bearer " t ^A ^A
 *   SCRAM-SHA-256 RFC 7677  driven by the clients through scram.h
 *   OAUTHBEARER  RFC 7628   gs2 header "n,a=" u "," ^A [host=h ^A]
 *                           [port=p ^A] "auth=Bearer " t ^A ^A
 *
 * Every string argument is NUL-terminated and only read during the call.
 * Outputs are written to out[0..cap) and *outlen gets the length; the output
 * is raw bytes (PLAIN holds NULs), NOT NUL-terminated.
 */
#ifndef POSTIE_SASL_H
#define POSTIE_SASL_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum postie_sasl_mech {
    POSTIE_SASL_NONE        = 0,
    POSTIE_SASL_LOGIN       = 0x01,
    POSTIE_SASL_PLAIN       = 0x02,
    POSTIE_SASL_CRAM_MD5    = 0x04,
    POSTIE_SASL_XOAUTH2     = 0x08,
    POSTIE_SASL_OAUTHBEARER = 0x10,
    POSTIE_SASL_SCRAM_SHA256 = 0x20  /* RFC 7677; steps in scram.h */
} postie_sasl_mech;

/* Mechanisms that never put the secret (or a replayable token) on the wire:
 * allowed on a connection without TLS (docs/tls.md). The others reveal it. */
#define POSTIE_SASL_CLEAR_SAFE_MECHS (POSTIE_SASL_CRAM_MD5 | POSTIE_SASL_SCRAM_SHA256)

/* Mechanisms that take a password, and those that take an OAuth 2.0 token. */
#define POSTIE_SASL_PASSWORD_MECHS \
    (POSTIE_SASL_LOGIN | POSTIE_SASL_PLAIN | POSTIE_SASL_CRAM_MD5 | POSTIE_SASL_SCRAM_SHA256)
#define POSTIE_SASL_TOKEN_MECHS    (POSTIE_SASL_XOAUTH2 | POSTIE_SASL_OAUTHBEARER)
#define POSTIE_SASL_ALL_MECHS      (POSTIE_SASL_PASSWORD_MECHS | POSTIE_SASL_TOKEN_MECHS)

/* The mechanisms compiled in (POSTIE_WITH_SASL_* in postie_config_defaults.h).
 * AUTH chooses only among these; the builder of one that is not compiled in
 * returns POSTIE_ERR_UNSUPPORTED. */
#define POSTIE_SASL_BUILT_MECHS                                                    \
    ((POSTIE_WITH_SASL_LOGIN ? (unsigned)POSTIE_SASL_LOGIN : 0u) |                 \
     (POSTIE_WITH_SASL_PLAIN ? (unsigned)POSTIE_SASL_PLAIN : 0u) |                 \
     (POSTIE_WITH_SASL_CRAM_MD5 ? (unsigned)POSTIE_SASL_CRAM_MD5 : 0u) |           \
     (POSTIE_WITH_SASL_XOAUTH2 ? (unsigned)POSTIE_SASL_XOAUTH2 : 0u) |             \
     (POSTIE_WITH_SASL_OAUTHBEARER ? (unsigned)POSTIE_SASL_OAUTHBEARER : 0u) |     \
     (POSTIE_WITH_SASL_SCRAM ? (unsigned)POSTIE_SASL_SCRAM_SHA256 : 0u))

/* The mechanism's IANA name ("PLAIN", "CRAM-MD5", ...); "" for NONE or a
 * value that is not exactly one known bit. Static string. */
const char *postie_sasl_mech_name(postie_sasl_mech mech);

/* The mechanism named by name[0..len) (case-insensitive), or NONE. */
postie_sasl_mech postie_sasl_mech_from_name(const char *name, size_t len);

/* Parses a space-separated mechanism list ("PLAIN LOGIN CRAM-MD5 GSSAPI")
 * into the bits of the mechanisms Postie knows; unknown names are ignored.
 * list may be NULL (returns 0). */
unsigned postie_sasl_parse_mechs(const char *list);

/*
 * Automatic choice: the strongest mechanism that is both offered (server's
 * bits) and allowed (caller's bits), in this order:
 *   SCRAM-SHA-256 > OAUTHBEARER > XOAUTH2 > CRAM-MD5 > PLAIN > LOGIN
 * (SCRAM first: the password does not cross the wire and the server proves
 * it knows it too; token mechanisms next: they never expose a password
 * (they are never chosen together with SCRAM in practice: a caller allows
 * either password or token mechanisms); CRAM-MD5 next: the
 * password does not cross the wire; PLAIN before LOGIN: one round trip and a
 * standard). Returns NONE when the intersection is empty: a mechanism the
 * server did not offer is never chosen.
 */
postie_sasl_mech postie_sasl_choose(unsigned offered, unsigned allowed);

/*
 * PLAIN (RFC 4616): authzid (NULL or "" for none) NUL user NUL pass.
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (user/pass/out/outlen NULL, user empty,
 * or CR or LF in any argument); POSTIE_ERR_BUFFER (cap too small).
 */
postie_status postie_sasl_plain(const char *authzid, const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen);

/*
 * LOGIN: answer to one server prompt (prompt[0..plen), already decoded; may
 * be empty). A prompt containing "user" (any case, e.g. "Username:") gets the
 * user name, one containing "pass" ("Password:") the password; any other
 * prompt is answered by position: step 0 -> user, step 1 -> password.
 * Returns POSTIE_OK; POSTIE_ERR_PROTOCOL (unknown prompt at step >= 2);
 * POSTIE_ERR_PARAM (NULL pointer, prompt NULL with plen > 0, CR/LF in
 * user/pass); POSTIE_ERR_BUFFER.
 */
postie_status postie_sasl_login(const char *prompt, size_t plen, unsigned step,
                                const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen);

/*
 * CRAM-MD5 (RFC 2195): user SP lowercase-hex HMAC-MD5(key = pass,
 * text = challenge[0..clen)). The challenge is the decoded 334 text.
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (NULL pointer, empty user, CR/LF in
 * user/pass); POSTIE_ERR_BUFFER (cap < strlen(user) + 33).
 */
postie_status postie_sasl_cram_md5(const char *challenge, size_t clen,
                                   const char *user, const char *pass,
                                   char *out, size_t cap, size_t *outlen);

/*
 * XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A.
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (NULL, empty user or token, CR/LF/^A in
 * either); POSTIE_ERR_BUFFER.
 */
postie_status postie_sasl_xoauth2(const char *user, const char *token,
                                  char *out, size_t cap, size_t *outlen);

/*
 * OAUTHBEARER (RFC 7628 sec. 3.1): "n,a=" saslname(user) "," ^A
 * ["host=" host ^A] ["port=" port ^A] "auth=Bearer " token ^A ^A.
 * In the user name ',' is written "=2C" and '=' "=3D" (RFC 5801 saslname).
 * host and port may be NULL or "" (then left out). port is the decimal
 * port number as a string.
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (NULL, empty user or token, CR/LF/^A
 * in any argument); POSTIE_ERR_BUFFER.
 */
postie_status postie_sasl_oauthbearer(const char *user, const char *token,
                                      const char *host, const char *port,
                                      char *out, size_t cap, size_t *outlen);

/* The one-byte response a client sends after an OAUTHBEARER error challenge
 * (RFC 7628 sec. 3.2.3): ^A (base64 "AQ=="). XOAUTH2 answers an error
 * challenge with an empty response. */
#define POSTIE_SASL_OAUTHBEARER_ABORT "\x01"

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SASL_H */
