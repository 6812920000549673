/*
 * postie/scram.h - SCRAM-SHA-256 client steps (RFC 5802, RFC 7677), no I/O.
 *
 * The SASL exchange, with what each step takes and gives (messages here are
 * the raw SCRAM strings; the POP3/SMTP layer base64-encodes them for AUTH and
 * decodes the server's challenges):
 *
 *   postie_scram_init(&s)
 *   postie_scram_client_first(&s, user, nonce)     -> "n,,n=user,r=nonce"
 *   server-first  "r=...,s=...,i=..."
 *   postie_scram_client_final(&s, password, server_first)
 *                                                  -> "c=biws,r=...,p=proof"
 *   server-final  "v=signature"
 *   postie_scram_server_final(&s, server_final)    -> POSTIE_OK only if the
 *                                                     server proved it knows
 *                                                     the password too
 *
 * No channel binding (GS2 header "n,,") and no authorisation identity.
 *
 * SASLprep (RFC 4013) is not implemented. User names and passwords must be
 * printable ASCII (0x20-0x7E); for those SASLprep changes nothing, so the
 * result is exactly what a server that applies SASLprep computes. Anything
 * else (control characters, any byte >= 0x80 such as UTF-8 text, which might
 * need SASLprep's mapping and normalisation) is refused with POSTIE_ERR_PARAM
 * rather than risking a silently different key.
 *
 * Everything lives in the caller's postie_scram (no malloc, no globals); the
 * struct holds secrets during the exchange and is wiped at the end of it or on
 * a failure (call postie_scram_wipe() to drop it early).
 */
#ifndef POSTIE_SCRAM_H
#define POSTIE_SCRAM_H

#include <stddef.h>
#include <stdint.h>
#include "postie/postie_config_defaults.h"
#include "postie/sha256.h"
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for the AuthMessage (client-first-bare "," server-first ","
 * client-final-without-proof), which bounds the user name, the nonces and the
 * salt. The default fits a 200-octet user name with 64-character nonces and a
 * 64-octet salt. */
#ifndef POSTIE_SCRAM_AUTH_MAX
#define POSTIE_SCRAM_AUTH_MAX 768
#endif
#if POSTIE_SCRAM_AUTH_MAX < 256
#error "POSTIE_SCRAM_AUTH_MAX must be at least 256"
#endif

/* Largest salt accepted, in octets after base64 decoding. */
#ifndef POSTIE_SCRAM_SALT_MAX
#define POSTIE_SCRAM_SALT_MAX 128
#endif

/* Iteration counts accepted from the server. RFC 7677 sec. 4 asks for at
 * least 4096; a lower floor lets a server (or whoever speaks for it) make the
 * proof cheap to attack offline, a higher ceiling costs time on small targets
 * (each iteration is two SHA-256 compressions). */
#ifndef POSTIE_SCRAM_MIN_ITERATIONS
#define POSTIE_SCRAM_MIN_ITERATIONS 4096u
#endif
#ifndef POSTIE_SCRAM_MAX_ITERATIONS
#define POSTIE_SCRAM_MAX_ITERATIONS 1000000u
#endif

/* Longest server error ("e=" value of a failed server-final) kept, plus NUL. */
#define POSTIE_SCRAM_ERROR_MAX 64

typedef struct postie_scram {
    int step;                        /* 0 init, 1 first sent, 2 final sent, 3 done */
    uint32_t min_iterations;         /* from the defaults above; may be changed */
    uint32_t max_iterations;         /* after init and before client_final */
    size_t cnonce_off, cnonce_len;   /* our nonce inside auth */
    size_t auth_len;
    char auth[POSTIE_SCRAM_AUTH_MAX];
    unsigned char server_signature[POSTIE_SHA256_DIGEST_LEN]; /* expected */
    char server_error[POSTIE_SCRAM_ERROR_MAX]; /* "e=" value, "" if none */
} postie_scram;

/* Resets s for a new exchange (iteration limits set to the defaults). */
void postie_scram_init(postie_scram *s);

/* Clears every secret and returns s to the initial state. */
void postie_scram_wipe(postie_scram *s);

/* Builds client-first-message "n,,n=<user>,r=<nonce>" into out (cap bytes,
 * caller-owned, NUL-terminated; *outlen gets the length without NUL, may be
 * NULL). user is escaped (',' -> "=2C", '=' -> "=3D"). nonce is nonce_len
 * printable characters other than ',' (0x21-0x7E), at least 16: the caller
 * makes it from a good random source (e.g. base64 of 18 random bytes).
 * user and nonce are only read during the call (copied into s).
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL, empty or non-printable-ASCII
 * user, bad nonce), POSTIE_ERR_BUFFER (out or s->auth too small),
 * POSTIE_ERR_STATE (not right after init). */
postie_status postie_scram_client_first(postie_scram *s, const char *user,
                                        const char *nonce, size_t nonce_len,
                                        char *out, size_t cap, size_t *outlen);

/* Parses server-first-message (len bytes, not NUL-terminated necessarily),
 * checks it, derives the keys from password and builds client-final-message
 * "c=biws,r=<nonce>,p=<base64 proof>" into out (cap bytes, caller-owned,
 * NUL-terminated; *outlen as above). Checks: attributes r, s, i in that order
 * (a leading mandatory-extension "m=" is refused), r starts with our nonce and
 * adds at least one printable character, s is non-empty strict base64 of at
 * most POSTIE_SCRAM_SALT_MAX octets, i is a decimal number within
 * [min_iterations, max_iterations]. Extensions after i are ignored.
 * password and server_first are only read during the call.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL, empty or non-printable-ASCII
 * password), POSTIE_ERR_PROTOCOL (malformed server-first, nonce not ours,
 * iteration count out of range), POSTIE_ERR_BUFFER (out or s->auth too
 * small), POSTIE_ERR_STATE (client_first not done, or already past it).
 * On any error other than POSTIE_ERR_STATE or a NULL argument, s is wiped
 * (the exchange cannot continue; start again with postie_scram_init()). */
postie_status postie_scram_client_final(postie_scram *s, const char *password,
                                        const char *server_first, size_t len,
                                        char *out, size_t cap, size_t *outlen);

/* Checks server-final-message (len bytes): "v=<base64 signature>" must carry
 * the ServerSignature the password implies (compared in constant time).
 * Returns POSTIE_OK (server authenticated; exchange done), POSTIE_ERR_AUTH
 * (signature mismatch, or the server sent "e=<error>": its value is in
 * s->server_error), POSTIE_ERR_PROTOCOL (malformed), POSTIE_ERR_PARAM (NULL),
 * POSTIE_ERR_STATE (client_final not done). s is wiped in every case but
 * POSTIE_ERR_PARAM/POSTIE_ERR_STATE (server_error is kept). */
postie_status postie_scram_server_final(postie_scram *s, const char *server_final, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SCRAM_H */
