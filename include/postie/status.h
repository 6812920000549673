/*
 * postie/status.h - the one status enum of the whole library.
 *
 * The list below is the single source of truth: the enum, postie_status_name()
 * and postie_strerror() are all generated from it. Keep three things apart:
 *   - our own status (this enum), returned by every call;
 *   - the server's reply (code, enhanced status, text), read from the client
 *     context after a call (postie_pop3_reply_text(), postie_smtp_reply());
 *   - the transport's own error, kept by the transport (see transport.h).
 */
#ifndef POSTIE_STATUS_H
#define POSTIE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, "message"), in descending order of value without gaps (status.c
 * finds an entry by its position): a new error goes at the end, with the next
 * negative value. */
#define POSTIE_STATUS_LIST(X)                                                        \
    X(START_TLS,          3,  "start TLS on the transport now, then report it and call again") \
    X(AGAIN,              2,  "in progress: move the bytes the session wants, then call again") \
    X(DONE,               1,  "end of data")                                        \
    X(OK,                 0,  "success")                                            \
    X(ERR_PARAM,         -1,  "invalid argument (NULL, out of range, or CR/LF/NUL in a value sent on the wire)") \
    X(ERR_STATE,         -2,  "call not allowed in the current session state")     \
    X(ERR_BUSY,          -3,  "a multi-line reply or message is still being read") \
    X(ERR_NO_SUCH_MESSAGE,-4, "message number outside 1..count")                   \
    X(ERR_SERVER,        -5,  "server refused the command (-ERR or 5xx reply)")    \
    X(ERR_TRANSIENT,     -6,  "server reported a transient failure (4xx reply)")   \
    X(ERR_AUTH,          -7,  "authentication failed")                              \
    X(ERR_PROTOCOL,      -8,  "malformed or unexpected server reply")              \
    X(ERR_LINE_TOO_LONG, -9,  "server line longer than the configured maximum")    \
    X(ERR_TIMEOUT,       -10, "timed out waiting for the peer")                    \
    X(ERR_CLOSED,        -11, "connection closed by the peer")                     \
    X(ERR_IO,            -12, "transport send or receive failed")                  \
    X(ERR_RESOLVE,       -13, "host name could not be resolved")                   \
    X(ERR_CONNECT,       -14, "could not connect to any address of the host")      \
    X(ERR_TLS,           -15, "TLS handshake or TLS I/O failed")                   \
    X(ERR_TLS_VERIFY,    -16, "server certificate verification failed")           \
    X(ERR_UNSUPPORTED,   -17, "the server does not offer the requested feature")   \
    X(ERR_BUFFER,        -18, "caller's buffer too small for the result")          \
    X(ERR_DECODE,        -19, "invalid encoded input (base64 or similar)")         \
    X(ERR_TOO_BIG,       -20, "message larger than the server accepts")            \
    X(ERR_RECIPIENTS,    -21, "one or more recipients were refused")               \
    X(ERR_NOMEM,         -22, "no buffer or packet available")                     \
    X(ERR_INSECURE,      -23, "refused to reveal credentials on an unencrypted connection") \
    X(ERR_INTERNAL,      -24, "internal error")                                    \
    X(ERR_TLS_REQUIRED,  -25, "TLS is required but the server does not offer it (STLS/STARTTLS)") \
    X(ERR_WOULD_BLOCK,   -26, "the transport would block (a non-blocking transport's answer)") \
    X(ERR_OUTCOME_UNKNOWN, -27, "the message went out whole but the server's reply was lost: it may have been delivered")

typedef enum postie_status {
#define POSTIE_X_ENUM(name, value, msg) POSTIE_##name = (value),
    POSTIE_STATUS_LIST(POSTIE_X_ENUM)
#undef POSTIE_X_ENUM
} postie_status;

/* Human-readable message for a status; never NULL ("unknown status" for values
 * outside the list). The string is static. Built with
 * POSTIE_WITH_STATUS_MESSAGES 0 (postie_config_defaults.h) it is the short
 * name, as postie_status_name() gives it. */
const char *postie_strerror(postie_status status);

/* Symbolic name of a status without the prefix, e.g. "ERR_TIMEOUT"; never NULL. */
const char *postie_status_name(postie_status status);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_STATUS_H */
