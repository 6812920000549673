/* SCRAM-SHA-256 client (RFC 5802, RFC 7677). No I/O, no malloc. */
#include "postie/scram.h"
#include "wipe.h"

#include <string.h>

#include "postie/base64.h"

#define GS2_HEADER "n,,"
#define GS2_HEADER_B64 "biws" /* base64("n,,") */

void postie_scram_init(postie_scram *s)
{
    if (s == NULL) {
        return;
    }
    memset(s, 0, sizeof *s);
    s->min_iterations = POSTIE_SCRAM_MIN_ITERATIONS;
    s->max_iterations = POSTIE_SCRAM_MAX_ITERATIONS;
}

void postie_scram_wipe(postie_scram *s)
{
    char err[POSTIE_SCRAM_ERROR_MAX];
    uint32_t lo, hi;

    if (s == NULL) {
        return;
    }
    memcpy(err, s->server_error, sizeof err);
    lo = s->min_iterations;
    hi = s->max_iterations;
    postie_scram_init(s);
    memcpy(s->server_error, err, sizeof err);
    s->min_iterations = lo;
    s->max_iterations = hi;
}

/* Printable ASCII: the set for which SASLprep is the identity. */
static int saslprep_ascii_ok(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    if (*p == '\0') {
        return 0;
    }
    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int nonce_char_ok(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != ',';
}

/* Appends n bytes to s->auth; 0 when it does not fit. */
static int auth_add(postie_scram *s, const char *p, size_t n)
{
    if (n > sizeof s->auth - s->auth_len) {
        return 0;
    }
    memcpy(s->auth + s->auth_len, p, n);
    s->auth_len += n;
    return 1;
}

postie_status postie_scram_client_first(postie_scram *s, const char *user,
                                        const char *nonce, size_t nonce_len,
                                        char *out, size_t cap, size_t *outlen)
{
    size_t i, need;

    if (s == NULL || user == NULL || nonce == NULL || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->step != 0) {
        return POSTIE_ERR_STATE;
    }
    if (!saslprep_ascii_ok(user) || nonce_len < 16) {
        return POSTIE_ERR_PARAM;
    }
    for (i = 0; i < nonce_len; i++) {
        if (!nonce_char_ok((unsigned char)nonce[i])) {
            return POSTIE_ERR_PARAM;
        }
    }
    /* client-first-message-bare = "n=" saslname ",r=" c-nonce */
    s->auth_len = 0;
    if (!auth_add(s, "n=", 2)) {
        return POSTIE_ERR_BUFFER;
    }
    for (i = 0; user[i] != '\0'; i++) {
        int ok;
        if (user[i] == ',') {
            ok = auth_add(s, "=2C", 3);
        } else if (user[i] == '=') {
            ok = auth_add(s, "=3D", 3);
        } else {
            ok = auth_add(s, &user[i], 1);
        }
        if (!ok) {
            postie_scram_wipe(s);
            return POSTIE_ERR_BUFFER;
        }
    }
    if (!auth_add(s, ",r=", 3)) {
        postie_scram_wipe(s);
        return POSTIE_ERR_BUFFER;
    }
    s->cnonce_off = s->auth_len;
    s->cnonce_len = nonce_len;
    if (!auth_add(s, nonce, nonce_len)) {
        postie_scram_wipe(s);
        return POSTIE_ERR_BUFFER;
    }
    need = sizeof GS2_HEADER - 1 + s->auth_len;
    if (need + 1 > cap) {
        postie_scram_wipe(s);
        return POSTIE_ERR_BUFFER;
    }
    memcpy(out, GS2_HEADER, sizeof GS2_HEADER - 1);
    memcpy(out + sizeof GS2_HEADER - 1, s->auth, s->auth_len);
    out[need] = '\0';
    if (outlen != NULL) {
        *outlen = need;
    }
    s->step = 1;
    return POSTIE_OK;
}

/* One "x=value" attribute of a server message, starting at *pos. */
typedef struct attr {
    char name;
    const char *val;
    size_t len;
} attr;

static int next_attr(const char *m, size_t n, size_t *pos, attr *a)
{
    size_t p = *pos, start;

    if (p >= n || n - p < 2 || m[p + 1] != '=') {
        return 0;
    }
    a->name = m[p];
    if (!((a->name >= 'a' && a->name <= 'z') || (a->name >= 'A' && a->name <= 'Z'))) {
        return 0;
    }
    start = p + 2;
    p = start;
    while (p < n && m[p] != ',') {
        p++;
    }
    a->val = m + start;
    a->len = p - start;
    *pos = p < n ? p + 1 : n;
    if (p < n && p + 1 == n) {
        return 0; /* trailing comma */
    }
    return 1;
}

static int parse_u32(const char *v, size_t n, uint32_t *out)
{
    uint32_t x = 0;
    size_t i;

    if (n == 0 || n > 10 || (v[0] == '0')) {
        return 0; /* posit-number: no leading zero, at least 1 */
    }
    for (i = 0; i < n; i++) {
        uint32_t d;
        if (v[i] < '0' || v[i] > '9') {
            return 0;
        }
        d = (uint32_t)(v[i] - '0');
        if (x > (0xffffffffu - d) / 10u) {
            return 0;
        }
        x = x * 10u + d;
    }
    *out = x;
    return 1;
}

static postie_status fail(postie_scram *s, postie_status st)
{
    postie_scram_wipe(s);
    return st;
}

postie_status postie_scram_client_final(postie_scram *s, const char *password,
                                        const char *server_first, size_t len,
                                        char *out, size_t cap, size_t *outlen)
{
    unsigned char salt[POSTIE_SCRAM_SALT_MAX];
    unsigned char salted[POSTIE_SHA256_DIGEST_LEN];
    unsigned char client_key[POSTIE_SHA256_DIGEST_LEN];
    unsigned char stored_key[POSTIE_SHA256_DIGEST_LEN];
    unsigned char server_key[POSTIE_SHA256_DIGEST_LEN];
    unsigned char proof[POSTIE_SHA256_DIGEST_LEN];
    size_t salt_len = 0, pos = 0, i, wo_proof_off, wo_proof_len, proof_b64_len;
    uint32_t iterations = 0;
    attr r, sa, it, ext;
    postie_status st;

    if (s == NULL || password == NULL || (server_first == NULL && len > 0) || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->step != 1) {
        return POSTIE_ERR_STATE;
    }
    if (!saslprep_ascii_ok(password)) {
        return fail(s, POSTIE_ERR_PARAM);
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)server_first[i];
        if (c < 0x20 || c == 0x7f) {
            return fail(s, POSTIE_ERR_PROTOCOL); /* no controls, NUL, CR, LF */
        }
    }
    /* server-first-message = [reserved-mext ","] nonce "," salt ","
     *                        iteration-count ["," extensions] */
    if (!next_attr(server_first, len, &pos, &r) || r.name != 'r' ||
        !next_attr(server_first, len, &pos, &sa) || sa.name != 's' ||
        !next_attr(server_first, len, &pos, &it) || it.name != 'i') {
        return fail(s, POSTIE_ERR_PROTOCOL); /* includes a leading "m=" */
    }
    while (pos < len) {
        if (!next_attr(server_first, len, &pos, &ext)) {
            return fail(s, POSTIE_ERR_PROTOCOL);
        }
    }
    if (r.len <= s->cnonce_len ||
        memcmp(r.val, s->auth + s->cnonce_off, s->cnonce_len) != 0) {
        return fail(s, POSTIE_ERR_PROTOCOL); /* not our nonce, or no server part */
    }
    for (i = 0; i < r.len; i++) {
        if (!nonce_char_ok((unsigned char)r.val[i])) {
            return fail(s, POSTIE_ERR_PROTOCOL);
        }
    }
    if (sa.len == 0) {
        return fail(s, POSTIE_ERR_PROTOCOL);
    }
    st = postie_base64_decode(sa.val, sa.len, salt, sizeof salt, &salt_len);
    if (st != POSTIE_OK || salt_len == 0) {
        return fail(s, POSTIE_ERR_PROTOCOL);
    }
    if (!parse_u32(it.val, it.len, &iterations) || iterations < s->min_iterations ||
        iterations > s->max_iterations || iterations == 0) {
        return fail(s, POSTIE_ERR_PROTOCOL);
    }

    /* AuthMessage = client-first-message-bare "," server-first-message ","
     *               client-final-message-without-proof */
    wo_proof_off = s->auth_len + 1 + len + 1;
    if (!auth_add(s, ",", 1) || !auth_add(s, server_first, len) || !auth_add(s, ",", 1) ||
        !auth_add(s, "c=" GS2_HEADER_B64 ",r=", 9) || !auth_add(s, r.val, r.len)) {
        return fail(s, POSTIE_ERR_BUFFER);
    }
    wo_proof_len = s->auth_len - wo_proof_off;
    proof_b64_len = postie_base64_encoded_len(sizeof proof);
    if (wo_proof_len + 3 + proof_b64_len + 1 > cap) {
        return fail(s, POSTIE_ERR_BUFFER);
    }

    /* SaltedPassword = Hi(Normalize(password), salt, i) */
    st = postie_pbkdf2_sha256(password, strlen(password), salt, salt_len, iterations, salted);
    if (st != POSTIE_OK) {
        return fail(s, POSTIE_ERR_INTERNAL);
    }
    postie_hmac_sha256(salted, sizeof salted, "Client Key", 10, client_key);
    postie_sha256(client_key, sizeof client_key, stored_key);
    postie_hmac_sha256(stored_key, sizeof stored_key, s->auth, s->auth_len, proof); /* ClientSignature */
    for (i = 0; i < sizeof proof; i++) {
        proof[i] ^= client_key[i]; /* ClientProof = ClientKey XOR ClientSignature */
    }
    postie_hmac_sha256(salted, sizeof salted, "Server Key", 10, server_key);
    postie_hmac_sha256(server_key, sizeof server_key, s->auth, s->auth_len, s->server_signature);

    memcpy(out, s->auth + wo_proof_off, wo_proof_len);
    memcpy(out + wo_proof_len, ",p=", 3);
    st = postie_base64_encode(proof, sizeof proof, out + wo_proof_len + 3,
                              cap - wo_proof_len - 3, NULL);
    postie_wipe(salted, sizeof salted);
    postie_wipe(client_key, sizeof client_key);
    postie_wipe(stored_key, sizeof stored_key);
    postie_wipe(server_key, sizeof server_key);
    postie_wipe(proof, sizeof proof);
    if (st != POSTIE_OK) {
        return fail(s, POSTIE_ERR_INTERNAL);
    }
    if (outlen != NULL) {
        *outlen = wo_proof_len + 3 + proof_b64_len;
    }
    /* The AuthMessage is no longer needed: keep only the expected signature. */
    memset(s->auth, 0, sizeof s->auth);
    s->auth_len = 0;
    s->step = 2;
    return POSTIE_OK;
}

postie_status postie_scram_server_final(postie_scram *s, const char *server_final, size_t len)
{
    unsigned char sig[POSTIE_SHA256_DIGEST_LEN + 3];
    size_t pos = 0, sig_len = 0, i;
    attr a, ext;
    int ok;

    if (s == NULL || (server_final == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (s->step != 2) {
        return POSTIE_ERR_STATE;
    }
    s->server_error[0] = '\0';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)server_final[i];
        if (c < 0x20 || c == 0x7f) {
            return fail(s, POSTIE_ERR_PROTOCOL);
        }
    }
    /* server-final-message = (server-error / verifier) ["," extensions] */
    if (!next_attr(server_final, len, &pos, &a) || (a.name != 'v' && a.name != 'e')) {
        return fail(s, POSTIE_ERR_PROTOCOL);
    }
    while (pos < len) {
        if (!next_attr(server_final, len, &pos, &ext)) {
            return fail(s, POSTIE_ERR_PROTOCOL);
        }
    }
    if (a.name == 'e') {
        size_t n = a.len < sizeof s->server_error - 1 ? a.len : sizeof s->server_error - 1;
        if (a.len == 0) {
            return fail(s, POSTIE_ERR_PROTOCOL);
        }
        postie_scram_wipe(s);
        memcpy(s->server_error, a.val, n);
        s->server_error[n] = '\0';
        return POSTIE_ERR_AUTH;
    }
    if (postie_base64_decode(a.val, a.len, sig, sizeof sig, &sig_len) != POSTIE_OK ||
        sig_len != POSTIE_SHA256_DIGEST_LEN) {
        return fail(s, POSTIE_ERR_PROTOCOL);
    }
    ok = postie_ct_equal(sig, s->server_signature, POSTIE_SHA256_DIGEST_LEN);
    postie_scram_wipe(s);
    if (!ok) {
        return POSTIE_ERR_AUTH;
    }
    s->step = 3;
    return POSTIE_OK;
}
