#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mab_alg.h"
#include "mab_b64.h"
#include "mab_json.h"
#include "mab_jwk.h"
#include "mab_jwks.h"
#include "mab_jws.h"
#include "mab_sig.h"

static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a, cb = *b;
        if (ca >= 'A' && ca <= 'Z') {
            ca = (char)(ca - 'A' + 'a');
        }
        if (cb >= 'A' && cb <= 'Z') {
            cb = (char)(cb - 'A' + 'a');
        }
        if (ca != cb) {
            return 0;
        }
    }
    return *a == *b;
}

/* RFC 7515 §4.1.11: we implement no extension, so any valid crit list is unsupported. */
static mab_err_e check_header(mab_jws_t *jws, apr_pool_t *p, const char **detail)
{
    json_t *h = jws->header, *v;

    v = json_object_get(h, "alg");
    if (!json_is_string(v)) {
        *detail = "header has no alg string";
        return MAB_ERR_MALFORMED;
    }
    jws->alg_name = apr_pstrdup(p, json_string_value(v));
    if (ascii_ieq(jws->alg_name, "none")) {
        *detail = "alg none is never accepted";
        return MAB_ERR_ALG;
    }
    jws->alg = mab_alg_find(jws->alg_name);
    if (!jws->alg) {
        *detail = apr_psprintf(p, "unknown alg \"%.32s\"", jws->alg_name);
        return MAB_ERR_ALG;
    }
    v = json_object_get(h, "kid");
    if (v) {
        if (!json_is_string(v)) {
            *detail = "kid is not a string";
            return MAB_ERR_MALFORMED;
        }
        jws->kid = apr_pstrdup(p, json_string_value(v));
    }
    v = json_object_get(h, "typ");
    if (v) {
        if (!json_is_string(v)) {
            *detail = "typ is not a string";
            return MAB_ERR_MALFORMED;
        }
        jws->typ = apr_pstrdup(p, json_string_value(v));
    }
    if (json_object_get(h, "crit")) {
        *detail = "crit names an extension this module does not implement";
        return MAB_ERR_CRIT;
    }
    if (json_object_get(h, "b64")) {
        *detail = "b64 header (RFC 7797) is not supported";
        return MAB_ERR_MALFORMED;
    }
    if (json_object_get(h, "zip") || json_object_get(h, "enc")) {
        *detail = "JWE header members in a JWS";
        return MAB_ERR_MALFORMED;
    }
    return MAB_OK;
}

mab_err_e mab_jws_parse(apr_pool_t *p, const char *token, apr_size_t len, apr_size_t max_size,
                        mab_jws_t **out, const char **detail)
{
    const char *dot1, *dot2;
    unsigned char *hdr;
    apr_size_t hdr_len;
    mab_jws_t *jws;
    mab_err_e rv;

    *detail = NULL;
    if (len > max_size) {
        *detail = apr_psprintf(p, "token is %lu bytes, limit %lu", (unsigned long)len,
                               (unsigned long)max_size);
        return MAB_ERR_TOO_LARGE;
    }
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (apr_size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (apr_size_t)(dot2 + 1 - token))) {
        *detail = "not a three-part compact JWS";
        return MAB_ERR_MALFORMED;
    }
    jws = apr_pcalloc(p, sizeof(*jws));
    if (mab_b64url_decode(p, token, (apr_size_t)(dot1 - token), &hdr, &hdr_len) != 0
        || hdr_len == 0) {
        *detail = "header is not base64url";
        return MAB_ERR_MALFORMED;
    }
    jws->header = mab_json_parse_object(p, hdr, hdr_len, detail);
    if (!jws->header) {
        *detail = apr_pstrcat(p, "header: ", *detail, NULL);
        return MAB_ERR_MALFORMED;
    }
    /* Handed out before the header is judged, so a refusal can still name kid and alg. */
    *out = jws;
    rv = check_header(jws, p, detail);
    if (rv != MAB_OK) {
        return rv;
    }
    if (mab_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), &jws->payload,
                          &jws->payload_len)
        != 0) {
        *detail = "payload is not base64url";
        return MAB_ERR_MALFORMED;
    }
    if (mab_b64url_decode(p, dot2 + 1, len - (apr_size_t)(dot2 + 1 - token), &jws->sig,
                          &jws->sig_len)
        != 0) {
        *detail = "signature is not base64url";
        return MAB_ERR_MALFORMED;
    }
    if (jws->sig_len == 0) {
        *detail = "signature is empty";
        return MAB_ERR_MALFORMED;
    }
    jws->signing_input = token;
    jws->signing_input_len = (apr_size_t)(dot2 - token);
    return MAB_OK;
}

mab_err_e mab_jws_verify_key(const mab_jws_t *jws, const mab_key_t *key, const char **detail)
{
    *detail = NULL;
    if (!jws->alg) {
        *detail = "unknown alg";
        return MAB_ERR_ALG;
    }
    if (!mab_jwk_fits_alg(key, jws->alg)) {
        *detail = "key does not fit the token's alg";
        return MAB_ERR_NO_KEY;
    }
    return mab_sig_verify(jws->alg, key, (const unsigned char *)jws->signing_input,
                          jws->signing_input_len, jws->sig, jws->sig_len, detail);
}

mab_err_e mab_jws_verify_keyset(const mab_jws_t *jws, const mab_keyset_t *ks, unsigned alg_mask,
                                const char **detail)
{
    const mab_key_t *used = NULL;

    return mab_jws_verify_keyset_ex(jws, ks, alg_mask, &used, detail);
}

mab_err_e mab_jws_verify_keyset_ex(const mab_jws_t *jws, const mab_keyset_t *ks, unsigned alg_mask,
                                   const mab_key_t **used, const char **detail)
{
    int i, tried = 0;
    mab_err_e last = MAB_ERR_NO_KEY;

    *detail = NULL;
    *used = NULL;
    if (!jws->alg || !(jws->alg->bit & alg_mask)) {
        *detail = "alg is not in the allow-list";
        return MAB_ERR_ALG;
    }
    for (i = 0; ks && i < ks->nkeys && tried < MAB_MAX_VERIFY_ATTEMPTS; i++) {
        const mab_key_t *key = ks->keys[i];
        mab_err_e rv;

        if (jws->kid && (!key->kid || strcmp(key->kid, jws->kid) != 0)) {
            continue;
        }
        if (!mab_jwk_fits_alg(key, jws->alg)) {
            continue;
        }
        tried++;
        rv = mab_jws_verify_key(jws, key, detail);
        if (rv == MAB_OK) {
            *used = key;
            return MAB_OK;
        }
        last = rv;
    }
    if (!tried) {
        *detail = jws->kid ? "no key with this kid fits the alg" : "no key fits the alg";
    }
    return last;
}

int mab_jws_typ_is(const mab_jws_t *jws, const char *media_type)
{
    const char *typ = jws->typ;

    if (!typ) {
        return 0;
    }
    if (strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
    }
    return ascii_ieq(typ, media_type);
}
