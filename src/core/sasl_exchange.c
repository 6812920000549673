/*
 * The one SASL exchange (sasl_exchange.h): mechanism choice under the TLS
 * rules, initial response or deferral, one answer per challenge, SCRAM's
 * server proof, cancel with "*". Both sessions run it; their differences
 * are a postie_sasl_proto.
 */
#include "postie/sasl_exchange.h"
#include "wipe.h"
#include "postie/base64.h"
#include "base64_trusted.h"
#include "sasl_pw.h"

#include <string.h>

#if POSTIE_WITH_SASL

/* Random bytes of a SCRAM client nonce: 15 give 20 base64 characters
 * (120 bits), the length of RFC 7677's example nonce. */
#define SCRAM_NONCE_BYTES 15
#define CHAL_MAX (POSTIE_SASL_SCRATCH_MAX / 2)

/* The scratch (sasl_exchange.h): x->buf, or c's line buffer when shared. */
#if POSTIE_SHARED_BUFFERS
#define SCRATCH(x, c) ((void)(x), (c)->line.buf)
#else
#define SCRATCH(x, c) ((void)(c), (x)->buf)
#endif

postie_status postie_sasl_x_select(unsigned offered, unsigned allowed, int tls_active,
                                   int allow_plain, int have_random, postie_sasl_mech *mech)
{
    /* a mechanism that is not compiled in is never chosen: asked only for
     * such, the answer is ERR_UNSUPPORTED (as when the server lacks it) */
    allowed &= (unsigned)POSTIE_SASL_BUILT_MECHS;
    if (!have_random) {
        allowed &= ~(unsigned)POSTIE_SASL_SCRAM_SHA256;
    }
    if (!tls_active && !allow_plain) {
        /* PLAIN, LOGIN and bearer tokens would show the secret on the path */
        unsigned safe = allowed & (unsigned)POSTIE_SASL_CLEAR_SAFE_MECHS;
        if ((offered & safe) == 0 && (offered & allowed) != 0) {
            return POSTIE_ERR_INSECURE;
        }
        allowed = safe;
    }
    /* postie_sasl_choose(), inline (allowed holds only known mechanisms) */
    *mech = (postie_sasl_mech)postie_sasl_top_bit(offered & allowed);
    return *mech == POSTIE_SASL_NONE ? POSTIE_ERR_UNSUPPORTED : POSTIE_OK;
}

#if POSTIE_WITH_SASL_SCRAM
static int printable_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}
#endif

/* postie_sasl_x.ir */
#define IR_SENT 1
#define IR_PENDING 2

/* The mechanisms (compiled in) whose client speaks first. */
#define IR_MECHS                                                                              \
    ((unsigned)POSTIE_SASL_BUILT_MECHS &                                                      \
     (unsigned)(POSTIE_SASL_PLAIN | POSTIE_SASL_XOAUTH2 | POSTIE_SASL_OAUTHBEARER |            \
                POSTIE_SASL_SCRAM_SHA256))

/* The initial response of x->mech into buf (POSTIE_SASL_SCRATCH_MAX bytes;
 * x->irlen of them; none for a mechanism outside IR_MECHS). */
static postie_status initial(postie_sasl_x *x, const char *user, const char *secret,
                             postie_random_fn random, void *random_ctx, char *buf)
{
    postie_status st = POSTIE_OK;

    x->irlen = 0;
    (void)user; /* unused when only LOGIN and CRAM-MD5 are built */
    (void)secret;
    (void)buf;
    (void)random;
    (void)random_ctx;
    switch ((postie_sasl_mech)x->mech) {
#if POSTIE_WITH_SASL_PLAIN
    case POSTIE_SASL_PLAIN:
        st = postie_sasl_pw(POSTIE_SASL_PLAIN, 0, NULL, 0, user, secret, buf,
                            POSTIE_SASL_SCRATCH_MAX, &x->irlen);
        break;
#endif
#if POSTIE_WITH_SASL_XOAUTH2
    case POSTIE_SASL_XOAUTH2:
        st = postie_sasl_xoauth2(user, secret, buf, POSTIE_SASL_SCRATCH_MAX, &x->irlen);
        break;
#endif
#if POSTIE_WITH_SASL_OAUTHBEARER
    case POSTIE_SASL_OAUTHBEARER:
        st = postie_sasl_oauthbearer(user, secret, NULL, NULL, buf, POSTIE_SASL_SCRATCH_MAX, &x->irlen);
        break;
#endif
#if POSTIE_WITH_SASL_SCRAM
    case POSTIE_SASL_SCRAM_SHA256: {
        unsigned char rnd[SCRAM_NONCE_BYTES];
        char nonce[SCRAM_NONCE_BYTES / 3 * 4 + 1];
        size_t nlen = 0;
        if (secret[0] == '\0' || !printable_ascii(user) || !printable_ascii(secret)) {
            return POSTIE_ERR_PARAM; /* docs/scram.md: no SASLprep */
        }
        if (random == NULL) {
            return POSTIE_ERR_PARAM;
        }
        st = random(random_ctx, rnd, sizeof rnd);
        if (st != POSTIE_OK) {
            return st < 0 ? st : POSTIE_ERR_INTERNAL;
        }
        (void)postie_base64_encode(rnd, sizeof rnd, nonce, sizeof nonce, &nlen);
        postie_wipe(rnd, sizeof rnd);
        st = postie_scram_client_first(&x->scram, user, nonce, nlen, buf, POSTIE_SASL_SCRATCH_MAX,
                                       &x->irlen);
        break;
    }
#endif
    default: /* LOGIN, CRAM-MD5: the server speaks first */
        return POSTIE_OK;
    }
    if (st != POSTIE_OK) {
#if POSTIE_WITH_SASL_SCRAM
        /* SCRAM's ERR_STATE too: an argument it refuses */
        return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_BUFFER : POSTIE_ERR_PARAM;
#else
        return st; /* the builders above say ERR_PARAM or ERR_BUFFER */
#endif
    }
    /* the response must fit one line, even when it waits for a challenge */
    if (postie_base64_encoded_len(x->irlen) + 3 > POSTIE_CMD_MAX) {
        return POSTIE_ERR_BUFFER;
    }
    return POSTIE_OK;
}

postie_status postie_sasl_x_start(postie_sasl_x *x, const postie_sasl_proto *pr,
                                  postie_sasl_mech mech, const char *user, const char *secret,
                                  postie_random_fn random, void *random_ctx, postie_conn *c,
                                  unsigned tag)
{
    const char *name = postie_sasl_mech_name(mech);
    char *buf = SCRATCH(x, c);
    postie_status st;

    /* user and secret were checked by the session (sasl_exchange.h) */
    if (name[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    memset(x, 0, sizeof *x);
#if POSTIE_WITH_SASL_SCRAM
    postie_scram_init(&x->scram);
#endif
    x->mech = (unsigned char)mech;
    st = initial(x, user, secret, random, random_ctx, buf);
    if (st == POSTIE_OK) {
        postie_conn_begin(c);
        postie_conn_add(c, "AUTH ");
        postie_conn_add(c, name);
        if ((unsigned)mech & IR_MECHS) {
            /* "AUTH " name " " response CRLF (no mechanism here has an empty
             * initial response, which would go as "=") */
            if (5 + strlen(name) + 1 + postie_base64_encoded_len(x->irlen) + 2 <= pr->cmd_limit &&
                (pr->no_ir_mechs & (unsigned)mech) == 0) {
                postie_conn_add(c, " ");
                postie_conn_add_b64(c, buf, x->irlen);
                x->ir = IR_SENT;
            } else {
                x->ir = IR_PENDING; /* too long (or the protocol's rule for this mechanism):
                                      it goes after the server's empty challenge */
            }
        }
        st = postie_conn_end(c, tag, 0);
    }
    if (st != POSTIE_OK) {
        postie_sasl_x_wipe(x);
    }
#if POSTIE_SHARED_BUFFERS
    /* the line buffer frames the next reply: built again when needed */
    memset(buf, 0, POSTIE_SASL_SCRATCH_MAX);
#endif
    return st;
}

/* Queues "*" and returns st, the status to report after the server's -ERR/501. */
static postie_status cancel(postie_conn *c, unsigned tag, postie_status st)
{
    postie_status r;

    postie_conn_begin(c);
    postie_conn_add(c, "*");
    r = postie_conn_end(c, tag, 0);
    return r != POSTIE_OK ? r : st;
}

/* The response to challenge number step (0: the first), chal[0..clen)
 * decoded, into raw[0..rawcap) (*rawlen). */
static postie_status answer(postie_sasl_x *x, unsigned step, const char *user,
                            const char *secret, const char *chal, size_t clen, char *raw,
                            size_t rawcap, size_t *rawlen)
{
    (void)step;
    (void)user;
    (void)secret;
    (void)chal;
    (void)clen;
    (void)raw;
    (void)rawcap;
    (void)rawlen;
    switch ((postie_sasl_mech)x->mech) {
#if POSTIE_WITH_SASL_LOGIN || POSTIE_WITH_SASL_CRAM_MD5
#if POSTIE_WITH_SASL_LOGIN
    case POSTIE_SASL_LOGIN:
#endif
#if POSTIE_WITH_SASL_CRAM_MD5
    case POSTIE_SASL_CRAM_MD5:
#endif
        return postie_sasl_pw(x->mech, step, chal, clen, user, secret, raw, rawcap, rawlen);
#endif
#if POSTIE_WITH_SASL_XOAUTH2
    case POSTIE_SASL_XOAUTH2:
        /* an error challenge (JSON): answer empty, the server then refuses */
        return step == 0 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
#endif
#if POSTIE_WITH_SASL_OAUTHBEARER
    case POSTIE_SASL_OAUTHBEARER:
        raw[0] = POSTIE_SASL_OAUTHBEARER_ABORT[0];
        *rawlen = 1;
        return step == 0 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
#endif
#if POSTIE_WITH_SASL_SCRAM
    case POSTIE_SASL_SCRAM_SHA256: {
        postie_status st;
        if (x->stage == 0) {
            st = postie_scram_client_final(&x->scram, secret, chal, clen, raw, rawcap, rawlen);
        } else if (x->stage == 1) {
            st = postie_scram_server_final(&x->scram, chal, clen);
            x->verified = st == POSTIE_OK;
            *rawlen = 0; /* the empty response that asks for success */
        } else {
            st = POSTIE_ERR_PROTOCOL;
        }
        x->stage++;
        return st;
    }
#endif
    default: /* PLAIN went with its initial response: no challenge expected */
        return POSTIE_ERR_PROTOCOL;
    }
}

postie_status postie_sasl_x_step(postie_sasl_x *x, const postie_sasl_proto *pr,
                                 const char *user, const char *secret, const char *challenge,
                                 size_t len, postie_conn *c, unsigned tag)
{
    char *chal = SCRATCH(x, c), *raw = chal + CHAL_MAX;
    size_t clen = 0, rawlen = 0;
    postie_status st = POSTIE_OK, why = POSTIE_ERR_AUTH; /* why: cancel, then report it */
    unsigned step = x->nchal, ir;

    if (step >= pr->max_challenges) {
        goto refuse;
    }
    x->nchal = (unsigned char)(step + 1);
    ir = x->ir;
    x->ir = 0;
    if (ir == IR_PENDING && len != 0) {
        goto refuse;
    }
    if (ir != 0 && len == 0) {
        /* the initial response, after the empty challenge it waited for
         * (which does not count), or again when the server ignored it and
         * asks for it (the first challenge: IR_SENT is cleared by any) */
        if (ir == IR_PENDING) {
            x->nchal = 0;
        }
#if POSTIE_SHARED_BUFFERS
        st = initial(x, user, secret, NULL, NULL, chal);
#endif
        raw = chal;
        rawlen = x->irlen;
        why = POSTIE_OK;
    } else {
        if (postie_base64_decode_trusted(challenge, len, chal, CHAL_MAX, &clen) != POSTIE_OK) {
            why = POSTIE_ERR_DECODE;
            goto refuse;
        }
        st = answer(x, step, user, secret, chal, clen, raw, POSTIE_SASL_SCRATCH_MAX - CHAL_MAX,
                    &rawlen);
        if (st == POSTIE_OK || st == POSTIE_ERR_BUFFER) {
            why = POSTIE_OK;
        }
    }
    if (st == POSTIE_OK) {
        postie_conn_begin(c);
        postie_conn_add_b64(c, raw, rawlen);
        st = postie_conn_end(c, tag, 0);
    }
    memset(chal, 0, POSTIE_SASL_SCRATCH_MAX);
    if (st == POSTIE_ERR_BUFFER) {
        why = st;
    }
    if (why == POSTIE_OK) {
        return st;
    }
refuse:
    return cancel(c, tag, why);
}

postie_status postie_sasl_x_done(const postie_sasl_x *x)
{
#if !POSTIE_WITH_SASL_SCRAM
    (void)x;
#else
    if (x->mech == (unsigned char)POSTIE_SASL_SCRAM_SHA256 && !x->verified) {
        return POSTIE_ERR_AUTH; /* the server never proved it knows the password */
    }
#endif
    return POSTIE_OK;
}

void postie_sasl_x_wipe(postie_sasl_x *x)
{
#if POSTIE_WITH_SASL_SCRAM
    postie_scram_wipe(&x->scram);
#endif
#if !POSTIE_SHARED_BUFFERS
    memset(x->buf, 0, sizeof x->buf);
#endif
    x->irlen = 0;
}

#else  /* no mechanism compiled in: no AUTH (postie_config_defaults.h) */
typedef int postie_sasl_exchange_not_built;
#endif
